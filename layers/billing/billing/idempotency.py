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
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from billing.clock import Clock, SystemClock
from billing.errors import Conflict, InvalidRequest
from billing.scope import Scope

RETENTION = timedelta(hours=24)
LEASE = timedelta(seconds=60)
MAX_KEY_LENGTH = 255


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
    """Identity of a request for key reuse: method, path and body bytes."""
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


class Idempotency:
    def __init__(self, store: IdempotencyStore, clock: Clock | None = None):
        self._store = store
        self._clock = clock or SystemClock()

    def run(
        self, scope: Scope, key: str, request_fingerprint: str, call: Callable[[], StoredResponse]
    ) -> StoredResponse:
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.", param="Idempotency-Key")
        now = self._clock.now()
        existing = self._store.claim(scope, key, request_fingerprint, now, now + LEASE)
        if existing is not None:
            if existing.fingerprint != request_fingerprint:
                raise Conflict(
                    "This Idempotency-Key was already used with a different request.",
                    code="idempotency_key_reused",
                    param="Idempotency-Key",
                )
            if existing.response is None:
                raise Conflict(
                    "A request with this Idempotency-Key is still in progress; retry later.",
                    code="idempotency_request_in_progress",
                    param="Idempotency-Key",
                )
            return existing.response
        try:
            response = call()
        except BaseException:
            self._store.release(scope, key)
            raise
        if response.replayable:
            self._store.complete(scope, key, response, self._clock.now() + RETENTION)
        else:
            self._store.release(scope, key)
        return response
