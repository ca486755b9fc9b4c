"""Verified provider events: stored raw once, then processed once, from a queue.

A webhook the platform verified (``billing.payments.webhooks``) is stored with the raw body it
came in, keyed by (scope, provider, the provider's event id), in state ``received``; a message
naming it (``EventRef``) goes to the provider event queue; the processor
(``functions/provider_events``) loads the stored event, hands it to the
``ProviderEventHandler`` (``Payments.apply``) and marks it ``processed``. States only move
forward: ``received`` -> ``processed``. The stored event is the record of what the provider
told us, kept whether or not it changed anything (an event about an object we never created
changes nothing, and is still stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from billing.clock import Clock, SystemClock
from billing.payments.providers import ProviderEvent
from billing.scope import Scope

State = Literal["received", "processed"]


@dataclass(frozen=True)
class EventRef:
    """Which stored event a queue message is about."""

    scope: Scope
    provider: str
    event_id: str


@dataclass(frozen=True)
class StoredEvent:
    ref: EventRef
    event: ProviderEvent
    state: State
    received_at: datetime


class ProviderEventStore(Protocol):
    def add(self, ref: EventRef, event: ProviderEvent, raw_body: bytes, at: datetime) -> StoredEvent | None:
        """Store a verified event in state ``received`` unless one with its key is stored:
        None when it was stored now, else the one stored before (one conditional write)."""

    def get(self, ref: EventRef) -> StoredEvent | None: ...

    def mark_processed(self, ref: EventRef, at: datetime) -> None:
        """``received`` -> ``processed``; an event processed already stays as it is."""


class ProviderEventHandler(Protocol):
    """Applies a stored, verified event to the platform: ``Payments.apply``.

    It must be idempotent: a queue delivers at least once, the processor may stop between
    applying an event and marking it processed, and a provider may send the events of one
    object in any order."""

    def apply(self, scope: Scope, provider: str, event: ProviderEvent) -> object: ...


class ProviderEventProcessor:
    """One queue message: the stored event it names is applied, then marked ``processed``,
    unless it was processed already. Nothing is verified again: only verified events are
    stored. A stop between the two steps leaves it ``received``: its next delivery applies it
    again, which finds nothing new."""

    def __init__(self, store: ProviderEventStore, handler: ProviderEventHandler, clock: Clock | None = None):
        self._store, self._handler, self._clock = store, handler, clock or SystemClock()

    def process(self, ref: EventRef) -> bool:
        """Whether the event was handled now (False: processed before, or not stored)."""
        stored = self._store.get(ref)
        if stored is None or stored.state == "processed":
            return False
        self._handler.apply(ref.scope, ref.provider, stored.event)
        self._store.mark_processed(ref, self._clock.now())
        return True


def subject(event: ProviderEvent) -> str:
    """What the event is about, as precisely as it says: our checkout session, else the
    provider's checkout, its payment, or the event alone. The queue processes the events of one
    subject one at a time, in the order they arrived."""
    return event.checkout_session or event.reference or event.payment_reference or event.id
