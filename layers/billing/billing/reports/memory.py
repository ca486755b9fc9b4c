"""The reports' aggregates held in memory: what the rebuild computes, read as the service
reads the stored ones. The benchmark's scan computes reports through it from every source
record (the cost the aggregates save), and unit tests read contributions through it."""

from __future__ import annotations

from collections.abc import Sequence

from billing.reports.buckets import Contribution, total
from billing.reports.records import Counted
from billing.reports.service import Row, Top
from billing.scope import Scope


class MemoryReader:
    def __init__(self, counted: Sequence[Counted]):
        self._buckets: Contribution = total(one.contribution for one in counted)
        self._debts = [(one, one.debt) for one in counted if one.debt]

    def buckets(self, scope: Scope, report: str, currency: str, slice_: str, grouping: str = "",
                group: str | None = None, until: str = "9999") -> list[Row]:  # fmt: skip
        rows = []
        for bucket, counters in self._buckets.items():
            kind, _, value = bucket.group.partition(":")
            if (bucket.report, bucket.currency, bucket.slice, kind) != (report, currency, slice_, grouping):
                continue
            if (group is not None and value != group) or bucket.date > until:
                continue
            rows.append(Row(value, bucket.date, counters))
        return sorted(rows, key=lambda row: (row.date, row.group))

    def debtors(self, scope: Scope, currency: str, slice_: str, limit: int) -> list[Top]:
        owed: dict[str, list[tuple[int, str]]] = {}
        for one, debt in self._debts:
            if debt and debt.currency == currency and slice_ in one.slices:
                owed.setdefault(one.customer, []).append((debt.amount, debt.due_date))
        found = [Top(c, sum(a for a, _ in d), min(due for _, due in d), len(d)) for c, d in owed.items()]
        found.sort(key=lambda d: (d.amount, d.customer), reverse=True)  # as the index: amount, then customer id
        return found[:limit]
