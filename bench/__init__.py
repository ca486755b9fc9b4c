"""Benchmarks of the billing platform, run with ``make bench`` (``python -m bench``).

Every public module of this package (name not starting with ``_``) is one benchmark. It
exposes ``run() -> dict[str, float | int | str]``; the runner prints each figure on its
own line as ``<module>.<name>: <value>``, so ``run`` returns bare names (``api_import_ms``,
not ``cold_start.api_import_ms``). Adding a benchmark (ingest, rating, invoice runs) means
adding a module; nothing else changes. Benchmarks print figures, they do not assert
targets; progress goes to stderr so stdout stays machine-readable.
"""
