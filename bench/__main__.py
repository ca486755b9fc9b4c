"""Discover and run every benchmark module of the ``bench`` package.

Usage: ``python -m bench [MODULE ...]``; with no arguments every module runs, in name
order. Stdout carries only ``name: value`` lines; progress and failures go to stderr, and
the exit status is 1 if any benchmark failed (the others still run). What the code under
measure writes to stdout (the functions' Powertools logs and metrics, as Lambda would send
to CloudWatch) goes to stderr too: the runner moves stdout there and keeps the real one for
the figures.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from typing import TextIO

import bench

Figures = Mapping[str, float | int | str]


def discover() -> list[str]:
    """Names of the benchmark modules: every public module of the package."""
    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))


def load(name: str) -> Callable[[], Figures]:
    module = importlib.import_module(f"{bench.__name__}.{name}")
    run: Callable[[], Figures] | None = getattr(module, "run", None)
    if not callable(run):
        raise TypeError(f"bench.{name} has no run() function")
    return run


def figures_stream() -> TextIO:
    """A stream to the real stdout, for the figures; from now on everything else written to
    stdout (by Python code or child processes, at the file descriptor) goes to stderr."""
    sys.stdout.flush()
    figures = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return figures


def main(argv: list[str] | None = None) -> int:
    available = discover()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"benchmarks to run (default: all of {available})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modules) - set(available))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
    figures_out = figures_stream()
    failed = []
    for name in args.modules or available:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            figures = load(name)()
        except Exception:
            traceback.print_exc()
            print(f"[bench] {name} FAILED", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        for key, value in figures.items():
            print(f"{name}.{key}: {value}", file=figures_out, flush=True)
        print(f"[bench] {name} done in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
