"""The reports, as frozen dataclasses: ``to_public()`` is the API's JSON, ``rows()`` the CSV's
table (a header, then one row per line). Money in integer minor units of ``currency``; ratios
as decimal strings, rounded as each field says."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from billing.decimals import plain

Cell = str | int | None
MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")
AGING = ("current", "1_30", "31_60", "61_90", "90_plus")


def row(*cells: Cell) -> list[Cell]:
    return list(cells)


@dataclass(frozen=True)
class MrrReport:
    """MRR at ``as_of`` (ARR = 12 x MRR), its movements from the 1st of ``as_of``'s month to
    ``as_of``, and its value at each month's end (``as_of`` for its own month)."""

    currency: str
    as_of: str
    mrr: int
    movements: dict[str, int]
    series: tuple[tuple[str, int], ...]

    def to_public(self) -> dict[str, Any]:
        return {
            "currency": self.currency, "as_of": self.as_of, "mrr": self.mrr, "arr": self.mrr * 12,
            "movements": {name: self.movements.get(name, 0) for name in MOVEMENTS},
            "series": [{"month": month, "mrr": mrr} for month, mrr in self.series],
        }  # fmt: skip

    def rows(self) -> list[list[Cell]]:
        return [["month", "mrr", "currency"], *[row(month, mrr, self.currency) for month, mrr in self.series]]


@dataclass(frozen=True)
class RevenueRow:
    group: str | None  # a month (group_by=month), a plan code, a meter code, a supplier; None: none
    invoiced: int
    collected: int | None  # None: payments are not attributed to plans or meters
    credited: int


@dataclass(frozen=True)
class RevenueReport:
    currency: str
    group_by: str
    since: str
    until: str
    rows_: tuple[RevenueRow, ...]

    def to_public(self) -> dict[str, Any]:
        collected = [row.collected for row in self.rows_ if row.collected is not None]
        return {
            "currency": self.currency, "group_by": self.group_by, "from": self.since, "to": self.until,
            "data": [{"group": r.group, "invoiced": r.invoiced, "collected": r.collected, "credited": r.credited}
                     for r in self.rows_],
            "total": {"invoiced": sum(r.invoiced for r in self.rows_),
                      "collected": sum(collected) if self.group_by in ("month", "supplier") else None,
                      "credited": sum(r.credited for r in self.rows_)},
        }  # fmt: skip

    def rows(self) -> list[list[Cell]]:
        header: list[Cell] = [self.group_by, "invoiced", "collected", "credited", "currency"]
        return [header, *[[r.group, r.invoiced, r.collected, r.credited, self.currency] for r in self.rows_]]


@dataclass(frozen=True)
class UsageRow:
    meter: str
    month: str
    quantity: Decimal


@dataclass(frozen=True)
class UsageReport:
    """The usage billed per meter and month (the month each usage period started), from the
    usage lines of finalized invoices in ``currency``; quantities as exact decimal strings."""

    currency: str
    since: str
    until: str
    rows_: tuple[UsageRow, ...]

    def to_public(self) -> dict[str, Any]:
        data = [{"meter": r.meter, "month": r.month, "quantity": plain(r.quantity)} for r in self.rows_]
        return {"currency": self.currency, "from": self.since, "to": self.until, "data": data}

    def rows(self) -> list[list[Cell]]:
        return [["meter", "month", "quantity"], *[row(r.meter, r.month, plain(r.quantity)) for r in self.rows_]]


@dataclass(frozen=True)
class PlanRow:
    plan: str
    active_subscriptions: int
    mrr: int
    series: tuple[tuple[str, int], ...]  # (month, active subscriptions at its end)


@dataclass(frozen=True)
class PlansReport:
    """Active subscriptions (and their MRR) per plan code at ``as_of``, most popular first."""

    currency: str
    as_of: str
    plans: tuple[PlanRow, ...]

    def to_public(self) -> dict[str, Any]:
        return {
            "currency": self.currency, "as_of": self.as_of,
            "data": [{"plan": p.plan, "active_subscriptions": p.active_subscriptions, "mrr": p.mrr,
                      "series": [{"month": m, "active_subscriptions": n} for m, n in p.series]} for p in self.plans],
        }  # fmt: skip

    def rows(self) -> list[list[Cell]]:
        return [["plan", "active_subscriptions", "mrr", "currency"],
                *[row(p.plan, p.active_subscriptions, p.mrr, self.currency) for p in self.plans]]  # fmt: skip


@dataclass(frozen=True)
class AgingReport:
    """The receivables open now, by days past their due date at ``as_of`` (an earlier ``as_of``
    ages today's open invoices as of that day; it does not reopen invoices paid since). ``dso`` = open receivables x
    days of the window / invoiced in the window, one decimal, half-even; ``collection_rate``
    = collected / invoiced in the window, four decimals, half-even (both null when nothing was
    invoiced). The window runs from the 1st of the month two months before ``as_of``'s to
    ``as_of``, counted in whole months of revenue."""

    currency: str
    as_of: str
    buckets: dict[str, int]
    open_invoices: int
    dso: str | None
    collection_rate: str | None

    @property
    def total(self) -> int:
        return sum(self.buckets.values())

    def to_public(self) -> dict[str, Any]:
        return {
            "currency": self.currency, "as_of": self.as_of,
            "buckets": {name: self.buckets.get(name, 0) for name in AGING}, "total": self.total,
            "open_invoices": self.open_invoices, "dso": self.dso, "collection_rate": self.collection_rate,
        }  # fmt: skip

    def rows(self) -> list[list[Cell]]:
        lines = [row(name, self.buckets.get(name, 0), self.currency) for name in AGING]
        return [row("bucket", "amount", "currency"), *lines, row("total", self.total, self.currency)]


@dataclass(frozen=True)
class Debtor:
    customer: str
    name: str | None
    amount: int
    oldest_due_date: str | None
    days_past_due: int
    open_invoices: int
    status: str  # the customer's access: active, suspended (archived customers keep their debts)


@dataclass(frozen=True)
class DebtorsReport:
    """The customers owing most on the invoices open now, most first; days past due counted at
    ``as_of``."""

    currency: str
    as_of: str
    debtors: tuple[Debtor, ...]

    def to_public(self) -> dict[str, Any]:
        return {"currency": self.currency, "as_of": self.as_of, "data": [
            {"customer": d.customer, "name": d.name, "amount": d.amount, "oldest_due_date": d.oldest_due_date,
             "days_past_due": d.days_past_due, "open_invoices": d.open_invoices, "access_status": d.status}
            for d in self.debtors]}  # fmt: skip

    def rows(self) -> list[list[Cell]]:
        header: list[Cell] = ["customer", "name", "amount", "currency", "oldest_due_date", "days_past_due",
                              "open_invoices", "access_status"]  # fmt: skip
        return [header, *[[d.customer, d.name, d.amount, self.currency, d.oldest_due_date, d.days_past_due,
                           d.open_invoices, d.status] for d in self.debtors]]  # fmt: skip
