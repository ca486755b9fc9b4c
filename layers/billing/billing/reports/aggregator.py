"""The reports aggregator: one domain event -> the reports' buckets, once.

An event names the record it is about (the subscription, invoice, payment or credit note in
``data.object``); the aggregator reads that record as stored now, computes its contribution
(``records.py``), and adds to the buckets the difference from the contribution it last
applied for it, in one transaction with the event's claim and the new contribution (written
at the version read). So:

- an event delivered twice finds its claim and changes nothing;
- events out of order apply the record's latest state; the older event, arriving after it,
  finds nothing new (the difference is zero);
- two events of one record at once: one transaction loses on the version, reads again and
  applies what is left.

``CustomerUpdated`` whose address or tags changed moves the customer's records to their new
slices (region, tags). Other events are claimed and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, get_args

from billing.errors import Conflict
from billing.reports.buckets import Contribution, delta
from billing.reports.records import Counted, Debt, Kind, Records, Ref
from billing.scope import Scope

ATTEMPTS = 5
KINDS: Mapping[str, Kind] = {"subscription": "sub", "invoice": "inv", "payment": "pay", "credit_note": "cn"}
assert set(KINDS.values()) == set(get_args(Kind))


@dataclass(frozen=True)
class Held:
    """A record's contribution as last applied, and the version of that write."""

    contribution: Contribution
    debt: Debt | None
    slices: tuple[str, ...]
    version: int


class ReportStore(Protocol):
    """Where buckets and contributions are kept (DynamoDB: ``adapters/dynamodb/reports.py``)."""

    def held(self, scope: Scope, customer: str, ref: Ref) -> Held | None: ...

    def apply(self, scope: Scope, event_id: str | None, counted: Counted, held: Held | None,
              changes: Contribution) -> bool:  # fmt: skip
        """Claim ``event_id`` (None: no claim), add ``changes`` to the buckets, keep ``counted``
        at ``held``'s version (``Conflict`` if it moved) and its customer's debts: in one
        transaction. False, writing nothing, when the event was claimed before."""

    def claim(self, scope: Scope, event_id: str) -> bool:
        """Claim an event that changes no record; False when claimed before."""

    def refs_of(self, scope: Scope, customer: str) -> list[Ref]:
        """The records of a customer that contribute."""


class ReportsAggregator:
    def __init__(self, store: ReportStore, records: Records):
        self._store, self._records = store, records

    def handle(self, envelope: Mapping[str, Any]) -> bool:
        """Apply one event's envelope; False when it changed nothing (a duplicate, or nothing
        the reports count)."""
        scope = Scope(envelope["tenant_id"], livemode=bool(envelope["livemode"]))
        data = envelope.get("data") or {}
        found = data.get("object") or {}
        kind = KINDS.get(found.get("object", ""))
        if envelope["type"] == "CustomerUpdated":
            if {"address", "tags"} & set(data.get("previous_attributes") or {}):
                for ref in self._store.refs_of(scope, found["id"]):
                    self.refresh(scope, ref)
            return self._store.claim(scope, envelope["id"])
        if kind is None or "id" not in found:
            return self._store.claim(scope, envelope["id"])
        return self.refresh(scope, Ref(kind, found["id"]), envelope["id"])

    def refresh(self, scope: Scope, ref: Ref, event_id: str | None = None) -> bool:
        """Bring one record's part in the reports up to date with it as stored."""
        for attempt in range(ATTEMPTS):
            record = self._records.load(scope, ref)
            if record is None:  # not stored (an event of another deployment's data): nothing to count
                return self._store.claim(scope, event_id) if event_id else False
            counted = self._records.counted(scope, record)
            held = self._store.held(scope, record.customer, ref)
            changes = delta(held.contribution if held else {}, counted.contribution)
            if held and not changes and held.debt == counted.debt and held.slices == counted.slices:
                return self._store.claim(scope, event_id) if event_id else False
            try:
                return self._store.apply(scope, event_id, counted, held, changes)
            except Conflict:
                if attempt == ATTEMPTS - 1:
                    raise
        return False  # pragma: no cover - the loop returns or raises
