"""Secret API keys: ``sk_test_...`` / ``sk_live_...``.

A key carries 32 random bytes (256 bits), is shown once at creation and is
stored only as its SHA-256 digest. A slow password hash is not needed: the
secret is random and long, so the digest cannot be brute-forced; it lets a
key be found by one key-value read. Digests are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_SHAPE = re.compile(r"^sk_(test|live)_[A-Za-z0-9_-]{43}$")


def generate(livemode: bool) -> str:
    """A new secret key; 32 random bytes, URL-safe base64 without padding."""
    return f"sk_{'live' if livemode else 'test'}_{secrets.token_urlsafe(32)}"


def is_well_formed(secret: str) -> bool:
    return bool(_SHAPE.match(secret))


def is_live(secret: str) -> bool:
    return secret.startswith("sk_live_")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    """Constant-time comparison of a presented key with a stored digest."""
    return hmac.compare_digest(digest(secret), stored_digest)


def bearer_token(header: str | None) -> str | None:
    """The key from an ``Authorization: Bearer <key>`` header, or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
