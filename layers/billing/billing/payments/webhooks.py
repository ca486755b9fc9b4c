"""Webhook intake: ``POST /webhooks/{provider}/{endpoint_id}``, verify -> store -> enqueue -> 200.

The endpoint id names the tenant, mode and provider (``billing.payments.accounts``); the body
is verified with that account's secret by the provider's module, on the raw bytes, before any
of it is read. An unknown endpoint, a disabled account, a path naming another provider than
the endpoint's, and a missing, forged or stale signature are all a 400, with nothing stored.

A verified event is stored raw with one conditional write keyed by (scope, provider, event id),
then a message naming it is queued, and the provider gets its 200 at once; the work happens in
the processor. The stored event is the outbox, and the queue is FIFO with the event's key as
its deduplication id, which together make the two writes safe without a transaction:

- the first delivery stores the event and queues it;
- a redelivery (or a concurrent duplicate) finds it stored: if it was processed, it is only
  acknowledged again; if it is still ``received`` it is queued again, and the queue drops the
  copy when the first message went out within the last five minutes (SQS deduplication), so
  five concurrent deliveries queue one message;
- a crash between the write and the send answers no 200, so the provider delivers again, and
  that delivery queues the event stored but never processed.

Processing is idempotent anyway (a queue delivers at least once).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from billing.clock import Clock, SystemClock
from billing.errors import InvalidRequest
from billing.payments.accounts import Endpoint
from billing.payments.provider_events import EventRef, ProviderEventStore, subject
from billing.payments.providers import PROVIDERS, Credentials, InvalidSignature, Provider
from billing.scope import Scope


class ProviderEventQueue(Protocol):
    def send(self, ref: EventRef, subject: str) -> None:
        """Queue ``ref`` behind the other events of ``subject``; the same ``ref`` sent again
        within five minutes is queued once."""


@dataclass(frozen=True)
class Receipt:
    """What the provider is answered: the event was stored (now, or before: ``duplicate``)."""

    event_id: str
    duplicate: bool

    def to_public(self) -> dict[str, Any]:
        return {"object": "webhook_receipt", "event": self.event_id, "duplicate": self.duplicate}


class WebhookIntake:
    def __init__(
        self,
        endpoint: Callable[[str], Endpoint | None],
        credentials: Callable[[Scope, str], Credentials | None],
        store: ProviderEventStore,
        queue: ProviderEventQueue,
        clock: Clock | None = None,
        providers: Mapping[str, Provider] = PROVIDERS,
    ):
        """``endpoint`` and ``credentials`` are ``ProviderAccounts``' (cached per container)."""
        self._endpoint, self._credentials, self._store, self._queue = endpoint, credentials, store, queue
        self._clock, self._providers = clock or SystemClock(), providers

    def receive(self, provider: str, endpoint_id: str, raw_body: bytes, headers: Mapping[str, str]) -> Receipt:
        found = self._endpoint(endpoint_id) if provider in self._providers else None
        credentials = self._credentials(found.scope, provider) if found and found.provider == provider else None
        if found is None or credentials is None:
            raise InvalidRequest(
                "No enabled payment provider account has this webhook endpoint.",
                code="webhook_endpoint_unknown",
                param="endpoint_id",
            )
        now = self._clock.now()
        try:
            event = self._providers[provider].verify(credentials, raw_body, headers, now)
        except InvalidSignature as refused:
            raise InvalidRequest(f"Refused webhook: {refused}.", code=f"signature_{refused.reason}") from None
        ref = EventRef(found.scope, provider, event.id)
        stored = self._store.add(ref, event, raw_body, now)
        if stored is None or stored.state == "received":
            self._queue.send(ref, subject(event))
        return Receipt(event.id, duplicate=stored is not None)
