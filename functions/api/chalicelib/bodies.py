"""Request bodies: their size and nesting are bounded before anything runs.

A body over ``MAX_BODY_BYTES`` is refused unread (413 ``payload_too_large``); one nested
deeper than ``MAX_DEPTH`` levels is refused once parsed (400 ``body_too_deep``), so no request
can exhaust the parser's stack. Either way nothing is written. 1 MB is the largest request the
API takes (a usage batch of 1,000 events); API Gateway's own limit is 10 MB.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from billing.errors import InvalidRequest, PayloadTooLarge

MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 32


def check_size(raw: bytes) -> None:
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"A request body is at most {MAX_BODY_BYTES // 1024 // 1024} MB.")


def parse(raw: bytes, exact: bool = False) -> Any:
    """The JSON body (``{}`` when empty); ``exact`` reads fractional numbers as ``Decimal``."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw, parse_float=Decimal) if exact else json.loads(raw)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        raise InvalidRequest("The request body is not valid JSON.", code="body_invalid") from None
    if _depth(value) > MAX_DEPTH:
        raise _too_deep()
    return value


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in ``value`` (a scalar is 0), without recursing."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


def _too_deep() -> InvalidRequest:
    return InvalidRequest(f"The request body nests deeper than {MAX_DEPTH} levels.", code="body_too_deep")
