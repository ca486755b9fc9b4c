"""``billing reports rebuild``: a scope's report aggregates computed again from its source
records, with the same contributions the aggregator applies (``records.py``), and put in place
of the maintained ones. The maintained aggregates must equal what this computes (a test
checks both on the same data). Run it while no events of the scope are being aggregated
(events handled meanwhile may be counted twice or not at all: run it again then)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from billing.customers.model import Customer
from billing.reports.records import Counted, Record, Records
from billing.scope import Scope


class RebuildSources(Protocol):
    def customers_of(self, scope: Scope) -> dict[str, Customer]: ...
    def records(self, scope: Scope) -> Iterator[Record]: ...


class RebuildTarget(Protocol):
    def replace(self, scope: Scope, counted: Sequence[Counted]) -> int: ...


@dataclass(frozen=True)
class Rebuilt:
    scope: Scope
    records: int
    items: int


class Rebuild:
    def __init__(self, sources: RebuildSources, records: Records, target: RebuildTarget):
        self._sources, self._records, self._target = sources, records, target

    def run(self, scope: Scope) -> Rebuilt:
        customers = self._sources.customers_of(scope)
        counted = [
            self._records.counted(scope, record, customers.get(record.customer))
            for record in self._sources.records(scope)
        ]
        return Rebuilt(scope, len(counted), self._target.replace(scope, counted))
