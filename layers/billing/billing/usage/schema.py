"""The usage event contract (``api_spec/schemas/usage_event.json``), checked with jsonschema.

The validator is compiled once per process on first use (jsonschema is imported
then, so functions that never see an event do not pay for it at cold start). The first problem of
an event becomes a rejection naming the field's path (``properties.seconds``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from billing.errors import SHOWN, cut, shown

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

CODES = {"required": "parameter_missing", "additionalProperties": "parameter_unknown", "type": "parameter_invalid"}


@lru_cache(maxsize=1)
def validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # imported on the first event, not at cold start

    schema = json.loads(resources.files("billing.usage").joinpath("usage_event.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def problem(event: Any) -> tuple[str, str, str | None] | None:
    """``(code, message, param)`` of the event's first contract violation, or None."""
    if not isinstance(event, dict):
        return "parameter_invalid", "An event must be a JSON object.", None
    error = next(iter(sorted(validator().iter_errors(event), key=lambda e: list(e.absolute_path))), None)
    if error is None:
        return None
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required":
        missing = next(name for name in error.validator_value if name not in error.instance)
        return "parameter_missing", f"{missing} is required.", ".".join([*path, missing])
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        name = ".".join([*path, unknown[0]]) if unknown else ".".join(path)
        return "parameter_unknown", f"Unknown field: {name}.", name
    param = ".".join(path) or None
    # jsonschema quotes the value whole: quote at most its start, and bound the message itself
    message = cut(error.message.replace(repr(error.instance), shown(error.instance)), 3 * SHOWN)
    return CODES.get(str(error.validator), "parameter_invalid"), f"{param or 'event'}: {message}", param
