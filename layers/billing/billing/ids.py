"""Prefixed, unguessable, time-ordered ids (``cus_01j...``).

48 bits of millisecond time followed by 80 random bits, Crockford base32 in
lower case (a ULID). Ids of one kind sort by creation time, which lets lists
page by id alone.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import TypeVar

from billing.errors import NotFound

T = TypeVar("T")

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_BODY = re.compile(r"^[0-9a-hjkmnp-tv-z]{26}$")


def new_id(prefix: str, now_ms: int | None = None) -> str:
    """Return ``f"{prefix}_{ulid}"``."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = (millis << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def derived_id(prefix: str, now_ms: int, seed: str) -> str:
    """An id of ``new_id``'s shape whose 80 "random" bits are the SHA-256 of ``seed``: the same
    seed and time always give the same id, so a write of it can happen once (an off-session
    charge is one per invoice however often its event is delivered)."""
    import hashlib

    value = (now_ms << 80) | (int.from_bytes(hashlib.sha256(seed.encode()).digest()[:10]) & ((1 << 80) - 1))
    return f"{prefix}_{''.join(_ALPHABET[(value >> (5 * n)) & 31] for n in reversed(range(26)))}"


def random_id(prefix: str) -> str:
    """``f"{prefix}_{26 characters}"`` of 130 random bits and no time: an id that must not be
    guessable even from others made at the same moment (a webhook endpoint's). It has the
    shape ``is_id`` checks."""
    value = secrets.randbits(130)
    return f"{prefix}_{''.join(_ALPHABET[(value >> (5 * n)) & 31] for n in range(26))}"


def is_id(value: str, prefix: str) -> bool:
    """True when ``value`` has the shape of an id made by ``new_id(prefix)``."""
    head, sep, body = value.partition("_")
    return sep == "_" and head == prefix and bool(_BODY.match(body))


def found(get: Callable[[str], T | None], object_id: str, prefix: str, what: str) -> T:
    """The object ``get`` finds under ``object_id``, or a 404 naming it (an id of another
    shape is simply not found, without a read)."""
    obj = get(object_id) if is_id(object_id, prefix) else None
    if obj is None:
        raise NotFound(f"No such {what}: '{object_id}'", param="id")
    return obj
