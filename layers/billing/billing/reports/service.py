"""Reading the reports from their aggregates: one method per report, each taking the scope and
a ``ReportQuery`` and returning the report (``model.py``). Reads are queries of a few bucket
partitions (a report's days, months or due dates, never its customers) and, for debtors, the
top of an index: their cost does not grow with the number of customers.

This is the interface the API and the operator dashboard call (``services.reports()``)."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Protocol

from billing.customers.model import Customer
from billing.quantities import MAX_DECIMALS
from billing.reports.buckets import Counters
from billing.reports.model import (
    AgingReport,
    Debtor,
    DebtorsReport,
    MrrReport,
    PlanRow,
    PlansReport,
    RevenueReport,
    RevenueRow,
    UsageReport,
    UsageRow,
)
from billing.reports.query import ReportQuery, months_between, months_ending
from billing.scope import Scope


@dataclass(frozen=True)
class Row:
    """One bucket as read: its group's value, its date, its counters (shards summed)."""

    group: str
    date: str
    counters: Counters


@dataclass(frozen=True)
class Top:
    """A debtor as its index ranks it."""

    customer: str
    amount: int
    oldest_due: str | None
    invoices: int


class ReportReader(Protocol):
    def buckets(self, scope: Scope, report: str, currency: str, slice_: str, grouping: str = "",
                group: str | None = None, until: str = "9999") -> Sequence[Row]: ...  # fmt: skip

    def debtors(self, scope: Scope, currency: str, slice_: str, limit: int) -> Sequence[Top]: ...


def month_end(month: str, as_of: date) -> str:
    """The last day of ``month``, or ``as_of`` within its own month."""
    if month == as_of.isoformat()[:7]:
        return as_of.isoformat()
    year, number = int(month[:4]), int(month[5:7])
    return f"{month}-{monthrange(year, number)[1]:02d}"


def level(rows: Sequence[Row], counter: str, through: str) -> int:
    """The sum of ``counter`` over the rows dated up to ``through``."""
    return sum(row.counters.get(counter, 0) for row in rows if row.date <= through)


class Reports:
    def __init__(self, reader: ReportReader, customers_of: Callable[[Scope, list[str]], dict[str, Customer]]):
        self._reader, self._customers_of = reader, customers_of

    def mrr(self, scope: Scope, query: ReportQuery) -> MrrReport:
        day, month = query.as_of.isoformat(), query.as_of.isoformat()[:7]
        grouping = "plan" if query.plan else ""
        rows = self._reader.buckets(scope, "MRR", query.currency, query.slice, grouping, query.plan, until=day)
        moved = [row for row in rows if row.date >= f"{month}-01"]
        movements = {name: level(moved, name, day) for name in ("new", "expansion", "contraction", "churn",
                                                                "reactivation")}  # fmt: skip
        series = tuple((m, level(rows, "mrr", month_end(m, query.as_of))) for m in months_ending(month, query.months))
        return MrrReport(query.currency, day, level(rows, "mrr", day), movements, series)

    def plans(self, scope: Scope, query: ReportQuery) -> PlansReport:
        day, month = query.as_of.isoformat(), query.as_of.isoformat()[:7]
        rows = self._reader.buckets(scope, "MRR", query.currency, query.slice, "plan", until=day)
        by_plan: dict[str, list[Row]] = {}
        for row in rows:
            by_plan.setdefault(row.group, []).append(row)
        months = months_ending(month, query.months)
        plans = [
            PlanRow(plan, level(found, "subs", day), level(found, "mrr", day),
                    tuple((m, level(found, "subs", month_end(m, query.as_of))) for m in months))
            for plan, found in by_plan.items()
        ]  # fmt: skip
        shown = [p for p in plans if any(n for _, n in p.series)]
        shown.sort(key=lambda p: (-p.active_subscriptions, -p.mrr, p.plan))
        return PlansReport(query.currency, day, tuple(shown))

    def revenue(self, scope: Scope, query: ReportQuery) -> RevenueReport:
        grouping = "" if query.group_by == "month" else query.group_by
        rows = self._reader.buckets(scope, "REV", query.currency, query.slice, grouping, until=query.until)
        kept = [row for row in rows if query.since <= row.date <= query.until]
        attributed = query.group_by in ("month", "supplier")
        if query.group_by == "month":
            keys: list[str] = months_between(query.since, query.until)
        else:
            keys = sorted({row.group for row in kept}, key=lambda g: (g == "", g))
        found = []
        for key in keys:
            mine = [row for row in kept if (row.date if query.group_by == "month" else row.group) == key]
            sums = {name: sum(row.counters.get(name, 0) for row in mine) for name in ("invoiced", "collected",
                                                                                      "credited")}  # fmt: skip
            if query.group_by != "month" and not any(sums.values()):
                continue
            collected = sums["collected"] if attributed else None
            found.append(RevenueRow(key or None, sums["invoiced"], collected, sums["credited"]))
        return RevenueReport(query.currency, query.group_by, query.since, query.until, tuple(found))

    def usage(self, scope: Scope, query: ReportQuery) -> UsageReport:
        """The usage billed per meter and month from ``query.since`` to ``query.until``."""
        rows = self._reader.buckets(scope, "USG", query.currency, query.slice, "meter", until=query.until)
        summed: dict[tuple[str, str], int] = {}
        for found in rows:
            if query.since <= found.date <= query.until:
                key = (found.group, found.date)
                summed[key] = summed.get(key, 0) + found.counters.get("qty", 0)
        kept = [
            UsageRow(meter, month, Decimal(qty).scaleb(-MAX_DECIMALS))
            for (meter, month), qty in sorted(summed.items())
            if qty
        ]
        return UsageReport(query.currency, query.since, query.until, tuple(kept))

    def aging(self, scope: Scope, query: ReportQuery) -> AgingReport:
        day = query.as_of
        buckets = dict.fromkeys(("current", "1_30", "31_60", "61_90", "90_plus"), 0)
        count = 0
        for row in self._reader.buckets(scope, "AGE", query.currency, query.slice):
            late = (day - date.fromisoformat(row.date)).days
            name = "current" if late <= 0 else "1_30" if late <= 30 else "31_60" if late <= 60 else (
                "61_90" if late <= 90 else "90_plus")  # fmt: skip
            buckets[name] += row.counters.get("due", 0)
            count += row.counters.get("n", 0)
        start = _window_start(day)
        months = months_between(start.isoformat()[:7], day.isoformat()[:7])
        revenue = [r for r in self._reader.buckets(scope, "REV", query.currency, query.slice) if r.date in months]
        invoiced = sum(r.counters.get("invoiced", 0) for r in revenue)
        collected = sum(r.counters.get("collected", 0) for r in revenue)
        days = (day - start).days + 1
        total = sum(buckets.values())
        dso = _ratio(Decimal(total) * days, invoiced, "0.1")
        return AgingReport(query.currency, day.isoformat(), buckets, count, dso, _ratio(Decimal(collected), invoiced,
                                                                                        "0.0001"))  # fmt: skip

    def debtors(self, scope: Scope, query: ReportQuery) -> DebtorsReport:
        top = self._reader.debtors(scope, query.currency, query.slice, query.limit)
        customers = self._customers_of(scope, [row.customer for row in top])
        found = []
        for row in top:
            customer = customers.get(row.customer)
            late = (query.as_of - date.fromisoformat(row.oldest_due)).days if row.oldest_due else 0
            found.append(Debtor(row.customer, customer.name if customer else None, row.amount, row.oldest_due,
                                max(late, 0), row.invoices, customer.status if customer else "archived"))  # fmt: skip
        return DebtorsReport(query.currency, query.as_of.isoformat(), tuple(found))


def _window_start(day: date) -> date:
    """The 1st of the month two months before ``day``'s: DSO's and the collection rate's window."""
    index = day.year * 12 + day.month - 1 - 2
    return date(index // 12, index % 12 + 1, 1)


def _ratio(numerator: Decimal, denominator: int, places: str) -> str | None:
    if denominator <= 0:
        return None
    return str((numerator / denominator).quantize(Decimal(places), ROUND_HALF_EVEN))
