"""Idempotency keys for POST requests, with Stripe's rules.

The first request with a key claims it and runs; its response is stored for
24 hours, server errors included (the request may have changed state before
failing, so only the stored answer is safe to give a retry). A retry with the
same key and the same request gets the stored response; the same key with a
different request is a 409. A request that is still running when its retry
arrives is a 409 too. Requests that did not run, because their input was
refused (400) or they lost a race with a concurrent request (a retryable
conflict), release the key so a corrected or later retry may reuse it. A
claim whose request died without answering lapses after ``LEASE``.

Keeping the answer never changes it: a request that ran gets its own answer even when the
answer cannot be stored (the failure is logged; the claim then lapses after ``LEASE``, and a
retry within it is told the request is in progress). Stored answers stay small: error messages
quote at most ``billing.errors.shown`` of a value, and the store compresses what it keeps.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from billing.clock import Clock, SystemClock
from billing.errors import Conflict, InvalidRequest
from billing.scope import Scope

RETENTION = timedelta(hours=24)
LEASE = timedelta(seconds=60)
MAX_KEY_LENGTH = 255
POLL = 0.25  # seconds between looks at a request still running, for ``run_waiting``
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any
    retryable: bool = False  # lost a race: the same request may succeed when sent again

    @property
    def replayable(self) -> bool:
        return self.status != 400 and not self.retryable


@dataclass(frozen=True)
class Claim:
    """A stored key: the request it was first used with, and its answer once known."""

    fingerprint: str
    response: StoredResponse | None


class IdempotencyStore(Protocol):
    def claim(self, scope: Scope, key: str, fingerprint: str, now: datetime, lease_until: datetime) -> Claim | None:
        """Claim ``key`` for a new request; return the live existing claim instead if there is one."""

    def complete(self, scope: Scope, key: str, response: StoredResponse, expires_at: datetime) -> None: ...

    def release(self, scope: Scope, key: str) -> None: ...


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Identity of a request for key reuse: method, path and body (``canonical`` for JSON)."""
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def canonical(value: Any) -> bytes:
    """A parsed JSON body (fractions as ``Decimal``) as canonical bytes: keys sorted, numbers
    by their exact value, so ``1.50`` and ``1.5`` are one number while ``0.1`` and
    ``0.10000000000000001`` (one float) are two. Depth is bounded by the caller's parser."""
    return _canonical(value).encode()


def _canonical(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_canonical(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_canonical(item) for item in value) + "]"
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return _number(Decimal(value))
    return json.dumps(value)


def _number(value: Decimal) -> str:
    """``digits E exponent`` without trailing zeros: exact, whatever the precision (no context)."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN, Infinity
        return str(value)
    text = "".join(map(str, digits))
    stripped = text.rstrip("0")
    if not stripped:
        return "0"
    return f"{'-' if sign else ''}{stripped}E{exponent + len(text) - len(stripped)}"


class Idempotency:
    def __init__(self, store: IdempotencyStore, clock: Clock | None = None):
        self._store = store
        self._clock = clock or SystemClock()

    def run(
        self, scope: Scope, key: str, request_fingerprint: str, call: Callable[[], StoredResponse]
    ) -> StoredResponse:
        return self.run_waiting(scope, key, request_fingerprint, call, timedelta(0))

    def run_waiting(
        self, scope: Scope, key: str, request_fingerprint: str, call: Callable[[], StoredResponse], wait: timedelta
    ) -> StoredResponse:
        """``run``, except that a request with the key still running is waited for, up to
        ``wait``, and its answer given (or, if it failed and let the key go, this one runs): a
        browser shows only the answer to a form's last post, so a second post must be answered
        as the first rather than told to retry."""
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.", param="Idempotency-Key")
        deadline = time.monotonic() + wait.total_seconds()
        while True:
            now = self._clock.now()
            existing = self._store.claim(scope, key, request_fingerprint, now, now + LEASE)
            if existing is None:
                return self._run(scope, key, call)
            if existing.fingerprint != request_fingerprint:
                raise Conflict(
                    "This Idempotency-Key was already used with a different request.",
                    code="idempotency_key_reused",
                    param="Idempotency-Key",
                )
            if existing.response is not None:
                return existing.response
            if time.monotonic() >= deadline:
                raise Conflict(
                    "A request with this Idempotency-Key is still in progress; retry later.",
                    code="idempotency_request_in_progress",
                    param="Idempotency-Key",
                )
            time.sleep(POLL)

    def _run(self, scope: Scope, key: str, call: Callable[[], StoredResponse]) -> StoredResponse:
        try:
            response = call()
        except BaseException:
            self._store.release(scope, key)
            raise
        try:
            if response.replayable:
                self._store.complete(scope, key, response, self._clock.now() + RETENTION)
            else:
                self._store.release(scope, key)
        except Exception:  # the request ran: its answer stands, whatever happens to the key
            logger.exception("idempotency key %s could not be completed; its claim lapses", key)
        return response
