"""One attempt of one delivery: sign, POST, record, and say whether to try again.

The delivery is read (its body frozen at fan-out), then its endpoint as it is now: one deleted
or disabled meanwhile cancels the delivery; one changed gets the attempt at its new URL. The
secret is opened (KMS, cached per container), the body signed with the attempt's time, and
POSTed through ``SafeTransport``. A 2xx answer succeeds; anything else (another status, a
redirect, a refused address, DNS, a timeout) fails the attempt, which is recorded in the log
with when the next comes (``retries``). A delivery that succeeded is never sent again, however
often its message comes back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol

from billing.clock import Clock, SystemClock
from billing.scope import Scope
from billing.webhooks_out import retries, signing
from billing.webhooks_out.model import Attempt, Delivery, DeliveryRef, DeliveryStatus, WebhookEndpoint
from billing.webhooks_out.ports import DeliveryStore, EndpointRepository
from billing.webhooks_out.transport import Response, TransportError

USER_AGENT = "Billing-Webhooks/1.0"

SecretOf = Callable[[Scope, WebhookEndpoint], str]
"""The endpoint's signing secret, opened."""


class Transport(Protocol):
    """``SafeTransport``: one POST, a ``TransportError`` when no status came back."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response: ...


@dataclass(frozen=True)
class Outcome:
    """What became of a delivery's message: ``retry_after`` is set when it is to come back."""

    status: DeliveryStatus | None  # None: nothing to do (no such delivery, or it succeeded before)
    retry_after: timedelta | None = None


class Deliverer:
    def __init__(
        self,
        deliveries: DeliveryStore,
        endpoints: EndpointRepository,
        secret_of: SecretOf,
        transport: Transport,
        clock: Clock | None = None,
    ):
        self._deliveries, self._endpoints, self._secret_of = deliveries, endpoints, secret_of
        self._transport, self._clock = transport, clock or SystemClock()

    def deliver(self, ref: DeliveryRef, attempt: int) -> Outcome:
        """Attempt ``attempt`` (1 for the first: the queue's receive count) of ``ref``."""
        scope = Scope(ref.tenant_id, ref.livemode)
        delivery = self._deliveries.get(scope, ref.endpoint_id, ref.delivery_id)
        if delivery is None or delivery.status in ("succeeded", "canceled"):
            return Outcome(None)
        endpoint = self._endpoints.get(scope, ref.endpoint_id)
        if endpoint is None or not endpoint.enabled:
            self._deliveries.attempted(scope, replace(delivery, status="canceled", next_attempt_at=None))
            return Outcome("canceled")
        tried = self._attempt(scope, endpoint, delivery)
        ok = tried.response_status is not None and 200 <= tried.response_status < 300
        delay = None if ok else retries.next_delay(attempt)
        status: DeliveryStatus = "succeeded" if ok else ("retrying" if delay is not None else "failed")
        done = replace(delivery, status=status, attempts=delivery.attempts + 1, last_attempt=tried,
                       next_attempt_at=tried.at + delay if delay is not None else None)  # fmt: skip
        self._deliveries.attempted(scope, done)
        return Outcome(status, delay)

    def _attempt(self, scope: Scope, endpoint: WebhookEndpoint, delivery: Delivery) -> Attempt:
        at = self._clock.now()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            signing.HEADER: signing.header(self._secret_of(scope, endpoint), delivery.body, int(at.timestamp())),
        }
        started = time.monotonic()
        try:
            response = self._transport.post(endpoint.url, delivery.body, headers)
        except TransportError as failed:
            return Attempt(at, _ms_since(started), error=f"{failed.code}: {failed}")
        error = "redirects are not followed" if 300 <= response.status < 400 else None
        return Attempt(at, _ms_since(started), response_status=response.status, error=error)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
