"""Parked usage records: listed for operators, and replayed once their cause is fixed.

The aggregator parks a stream record it can never apply (``billing.usage.aggregator``), so
one bad record never stops usage counting for everyone. Nothing is lost: the event itself
stays in the event store, and the parked record names it. A replay reads the event as it is
stored now (an operator may have corrected it, or fixed the code that refused it), adds it
to the totals and removes the parked record in one transaction, so replaying twice counts
once. A replay that fails again leaves the record parked, with the new error and one more
attempt counted.
"""

from __future__ import annotations

from typing import Protocol

from billing.errors import NotFound
from billing.pagination import Page
from billing.scope import Scope
from billing.usage.aggregator import Parked, Unapplicable, UsageAggregator
from billing.usage.model import UsageEvent


class ParkedStore(Protocol):
    def list(self, limit: int, after: str | None) -> Page[Parked]: ...

    def get(self, parked_id: str) -> Parked | None: ...

    def failed_again(self, parked_id: str, error: str) -> None: ...


class StoredEvents(Protocol):
    def get(self, scope: Scope, transaction_id: str) -> UsageEvent | None: ...


class DeadLetters:
    def __init__(self, parked: ParkedStore, events: StoredEvents, aggregator: UsageAggregator):
        self._parked, self._events, self._aggregator = parked, events, aggregator

    def list(self, limit: int = 100, after: str | None = None) -> Page[Parked]:
        """Oldest first (ids are time-ordered), ``limit`` at a time after the id ``after``."""
        return self._parked.list(limit, after)

    def replay(self, parked_id: str) -> str | None:
        """Apply a parked record; None when it counted, else why it stays parked."""
        parked = self._parked.get(parked_id)
        if parked is None:
            raise NotFound(f"No such parked record: '{parked_id}'.", param="id")
        try:
            if parked.scope is None or parked.transaction_id is None:
                raise Unapplicable("the record names no stored event")
            event = self._read(parked.scope, parked.transaction_id)
            if event is None:
                raise Unapplicable("the event is no longer stored")
            self._aggregator.replay(parked, parked.scope, event)
        except Exception as error:  # any failure leaves the record parked, with its reason
            if self._parked.get(parked_id) is None:
                return None  # the replay committed before the failure (a timeout after the write)
            reason = f"{type(error).__name__}: {error}"
            self._parked.failed_again(parked_id, reason)
            return reason
        return None

    def _read(self, scope: Scope, transaction_id: str) -> UsageEvent | None:
        try:
            return self._events.get(scope, transaction_id)
        except (KeyError, ValueError, TypeError, ArithmeticError) as bad:  # its stored data does not decode
            raise Unapplicable(f"the stored event cannot be read ({type(bad).__name__}: {bad})") from None
