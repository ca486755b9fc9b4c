"""The ``Billing-Signature`` header: Stripe's scheme, so receivers can reuse what they know.

``Billing-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``, where the
body is the exact bytes POSTed and the key is the whole secret (``whsec_...``) as UTF-8. The
timestamp is the attempt's, so a receiver refusing signatures older than a few minutes refuses
replays; the signature covers the timestamp, so it cannot be moved forward. Receivers compare
in constant time (``verify`` is a reference for them and for our tests).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "Billing-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
TOLERANCE_S = 300


def new_secret() -> str:
    """256 random bits, URL-safe: ``whsec_`` and 43 characters."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def header(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Billing-Signature`` value of ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={signature(secret, body, timestamp)}"


def verify(value: str, body: bytes, secret: str, now: int, tolerance_s: int = TOLERANCE_S) -> bool:
    """What a receiver does: parse ``t`` and every ``v1``, refuse a timestamp further than
    ``tolerance_s`` from ``now``, and compare each ``v1`` in constant time."""
    parts = [item.partition("=") for item in value.split(",")]
    stamps = [v for k, _, v in parts if k.strip() == "t"]
    candidates = [v for k, _, v in parts if k.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not candidates:
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, body, timestamp)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
