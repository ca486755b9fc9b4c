"""Usage ingestion: validate, stamp, drop duplicates, store raw events.

Exactly once: the raw event's key is ``(tenant, mode, transaction_id)``, so
the event store holds each transaction once however often it is sent. Each event
is created only where its key does not exist yet (a conditional write each); one
whose key exists (sent before, or by a request racing with this one) is answered as a
duplicate. Of requests racing with the same new id, exactly one creates it: that
request's answer counts it ``accepted``, every other one's as a duplicate, so the
receipts of concurrent clients add up to the distinct ids. Totals are built from
created keys only (see ``aggregator``).

No read precedes the writes: a resent event costs a refused write (as much as a stored
one), where a read of every event's key would cost, at DynamoDB's prices, a fifth of a write
per event sent, and a request more per 100 events; the read pays off only above one resend
in five. A client retrying a whole batch sends its ``Idempotency-Key``: the stored answer
costs one write (the key's claim), not one per event.

A prepaid customer's event is stored by the charging that debits it (``billing.prepaid``): one
transaction per event creates the raw event where its key is free and debits the customer's
balance with it, so a duplicate debits nothing; an event the balance does not cover under a
refusing tenant is rejected (``insufficient_balance``) with nothing stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from billing.clock import Clock, SystemClock
from billing.errors import BillingError, DomainRuleViolation
from billing.scope import Scope
from billing.testclocks import ClockTimes
from billing.usage.model import IngestResult, Rejection, UsageEvent
from billing.usage.schema import EventInput, Malformed
from billing.usage.stamping import Directory, Refused, Stamper


class UsageEventStore(Protocol):
    def existing(self, scope: Scope, transaction_ids: Sequence[str]) -> set[str]: ...

    def put_new(self, scope: Scope, events: Sequence[UsageEvent]) -> set[str]:
        """Store each event unless its transaction id is stored; the ids this call created."""


class OnlineCharging(Protocol):
    """Prepaid customers' events are stored by the charging that debits them (``billing.prepaid``):
    one transaction per event stores it if new and debits the customer's balance."""

    def charges(self, scope: Scope, event: UsageEvent) -> bool:
        """True when ``charge`` stores the event (its customer is prepaid)."""

    def charge(self, scope: Scope, event: UsageEvent) -> bool:
        """Store and debit the event: True if this call created it, False for a duplicate; a
        refusal (``InsufficientBalance``) raises, with nothing stored."""


class GracePeriods(Protocol):
    def __call__(self, scope: Scope) -> timedelta: ...


class UsageIngest:
    def __init__(
        self,
        store: UsageEventStore,
        directory: Directory,
        grace: GracePeriods,
        clock: Clock | None = None,
        times: ClockTimes | None = None,
        charging: OnlineCharging | None = None,
    ):
        self._times, self._charging = times, charging
        self._store, self._directory, self._grace = store, directory, grace
        self._clock = clock or SystemClock()

    def ingest(self, scope: Scope, events: Sequence[EventInput | Malformed]) -> IngestResult:
        """Keep every valid new event of ``events``; report duplicates and rejections by index."""
        stamper = Stamper(self._directory, scope, self._clock.now(), self._grace(scope), self._times)
        result = IngestResult()
        fresh: dict[str, tuple[int, UsageEvent]] = {}
        for index, sent in enumerate(events):
            txid = sent.transaction_id
            if isinstance(sent, Malformed):
                problem = (sent.code, sent.message, sent.param)
                result.rejected.append(Rejection(index, txid, *problem, type="invalid_request_error"))
            elif sent.transaction_id in fresh:
                result.duplicates.append(index)
            else:
                try:
                    fresh[sent.transaction_id] = (index, stamper.stamp(sent))
                except Refused as refused:
                    result.rejected.append(Rejection(index, txid, refused.code, refused.message, refused.param))
        created = self._keep_all(scope, fresh, result)
        for txid, (index, event) in fresh.items():
            if txid in created:
                result.accepted.append(event)
            else:  # stored before, or a concurrent request created it first
                result.duplicates.append(index)
        result.duplicates.sort()
        result.rejected.sort(key=lambda rejection: rejection.index)
        return result

    def _keep_all(self, scope: Scope, fresh: dict[str, tuple[int, UsageEvent]], result: IngestResult) -> set[str]:
        """Store the stamped events: the ids created. A prepaid customer's event is stored by
        its debit; one refused is taken out of ``fresh`` and reported in ``result``."""
        charging = self._charging
        charged = [txid for txid, (_, event) in fresh.items() if charging and charging.charges(scope, event)]
        created = self._store.put_new(scope, [event for txid, (_, event) in fresh.items() if txid not in charged])
        for txid in charged:
            index, event = fresh[txid]
            try:
                if charging and charging.charge(scope, event):
                    created.add(txid)
            except BillingError as refused:
                if refused.retryable or refused.code != "insufficient_balance":
                    raise
                del fresh[txid]
                result.rejected.append(Rejection(index, txid, refused.code, refused.message, refused.param))
        return created

    def ingest_one(self, scope: Scope, event: EventInput) -> bool:
        """True if the event was new, False for a duplicate; a refusal raises its error."""
        return self.keep(scope, self.prepare(scope, event))

    def prepare(self, scope: Scope, event: EventInput) -> UsageEvent:
        """Stamp one event without storing it; a refusal raises its error."""
        try:
            return Stamper(self._directory, scope, self._clock.now(), self._grace(scope), self._times).stamp(event)
        except Refused as refused:
            raise DomainRuleViolation(refused.message, code=refused.code, param=refused.param) from None

    def stored(self, scope: Scope, transaction_id: str) -> bool:
        return bool(self._store.existing(scope, [transaction_id]))

    def keep(self, scope: Scope, event: UsageEvent) -> bool:
        """Store a prepared event unless it is stored already; True if this call created it. A
        prepaid customer's event is debited in the same write (a refusal raises its error)."""
        if self._charging and self._charging.charges(scope, event):
            return self._charging.charge(scope, event)
        return bool(self._store.put_new(scope, [event]))
