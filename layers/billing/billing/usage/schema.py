"""The usage event contract (``api_spec/schemas/usage_event.json``), checked with jsonschema.

The validators are compiled once per process on first use (and imported then, so functions
that never see an event do not pay for them at cold start). The first problem of an event
becomes a rejection naming the field's path (``properties.seconds``).

Two validators read the one contract file. jsonschema's verdict and messages are the contract's;
it costs about 0.1 ms an event, most of a batch's CPU before its writes. jsonschema-rs (compiled,
about 1 µs an event) vouches first for the events it accepts; only those it does not are read by
jsonschema, whose verdict stands. On this contract jsonschema-rs is never more lenient than
jsonschema, only stricter: its patterns are ECMA-262's, where ``$`` never matches before a final
newline and ``\\d`` only ASCII digits, and Python's match both. So every answer is jsonschema's
(``tests/unit/test_usage_schema.py`` holds the two equal over generated events); a contract
change using keywords where jsonschema-rs would accept more must keep that test green.

``read`` turns a sent event into an ``EventInput`` (or, when it breaks the contract, a
``Malformed`` that says why); the routes read bodies with ``read_one`` and ``read_batch``.
A batch is read event by event, so one malformed event refuses only itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from billing.errors import SHOWN, InvalidRequest, cut, shown

if TYPE_CHECKING:
    import jsonschema_rs
    from jsonschema import Draft202012Validator

MAX_BATCH = 1000
MAX_TRANSACTION_ID = 128  # the contract's longest transaction id: a longer one is not echoed back
CODES = {"required": "parameter_missing", "additionalProperties": "parameter_unknown", "type": "parameter_invalid"}


@lru_cache(maxsize=1)
def contract() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(resources.files("billing.usage").joinpath("usage_event.json").read_text())
    return schema


@lru_cache(maxsize=1)
def validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # imported on the first event, not at cold start

    Draft202012Validator.check_schema(contract())
    return Draft202012Validator(contract())


@lru_cache(maxsize=1)
def fast_validator() -> jsonschema_rs.Draft202012Validator:
    import jsonschema_rs

    return jsonschema_rs.Draft202012Validator(contract())


def vouched(event: Any) -> bool:
    """Whether jsonschema-rs accepts the event. Where it fails to read one (none known: JSON's
    values all convert), it does not vouch, and jsonschema judges the event."""
    try:
        return bool(fast_validator().is_valid(event))
    except Exception:
        return False


def problem(event: Any) -> tuple[str, str, str | None] | None:
    """``(code, message, param)`` of the event's first contract violation, or None."""
    if not isinstance(event, dict):
        return "parameter_invalid", "An event must be a JSON object.", None
    return None if vouched(event) else first_problem(event)


def first_problem(event: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """The first violation as jsonschema reads the event (the contract's own verdict)."""
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


@dataclass(frozen=True)
class EventInput:
    """A usage event as sent, within the contract (not yet matched to a customer or meter)."""

    transaction_id: str
    customer: str
    code: str
    timestamp: str | None = None  # None: when it is received
    properties: dict[str, Any] | None = None


@dataclass(frozen=True)
class Malformed:
    """A sent event that breaks the contract: why, and its transaction id if it has a usable one."""

    transaction_id: str | None
    code: str
    message: str
    param: str | None


def read(event: Any) -> EventInput | Malformed:
    """One sent event, checked against the contract."""
    found = problem(event)
    if found is None:
        return EventInput(
            event["transaction_id"], event["customer"], event["code"], event.get("timestamp"), event.get("properties")
        )
    txid = event.get("transaction_id") if isinstance(event, dict) else None
    return Malformed(txid if isinstance(txid, str) and len(txid) <= MAX_TRANSACTION_ID else None, *found)


def read_all(events: Sequence[Any]) -> list[EventInput | Malformed]:
    return [read(event) for event in events]


def read_one(body: Any) -> EventInput:
    """The body of ``POST /v1/events``; a 400 naming the field when it breaks the contract."""
    event = read(body)
    if isinstance(event, Malformed):
        raise InvalidRequest(event.message, code=event.code, param=event.param)
    return event


def read_batch(body: Any) -> list[EventInput | Malformed]:
    """The body of ``POST /v1/events/batch``: at most ``MAX_BATCH`` events (the body, like every
    request's, at most 1 MB), each read on its own."""
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list):
        raise InvalidRequest("events must be a list of usage events.", code="parameter_missing", param="events")
    if unknown := sorted(set(body) - {"events"}):
        raise InvalidRequest(f"Unknown field: {unknown[0]}.", code="parameter_unknown", param=unknown[0])
    if not 1 <= len(events) <= MAX_BATCH:
        raise InvalidRequest(f"A batch holds 1 to {MAX_BATCH} events.", code="batch_too_large", param="events")
    return read_all(events)
