"""The dashboard's overview: the reports of one currency at once (the same ``services.reports()``
the API's ``/v1/reports/...`` answer from, so the page and the API never disagree), with the
charts drawn from them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from billing.money import format_amount
from billing.pages.charts import BarChart, bars
from billing.reports.model import AGING, AgingReport, DebtorsReport, MrrReport, PlansReport, RevenueReport
from billing.reports.query import ReportQuery
from billing.reports.service import Reports
from billing.scope import Scope

FALLBACK_CURRENCY = "USD"


@dataclass(frozen=True)
class Overview:
    currency: str
    mrr: MrrReport
    revenue: RevenueReport
    aging: AgingReport
    debtors: DebtorsReport
    plans: PlansReport
    mrr_chart: BarChart
    revenue_chart: BarChart
    aging_chart: BarChart


def overview(
    reports: Reports, scope: Scope, currency: str, word: Callable[[str], str] = str, today: date | None = None
) -> Overview:
    """The overview in ``currency`` as of ``today`` (by default UTC's): a year of MRR and revenue by month. Charts
    are titled, and the aging buckets labelled, in the page's words (``word(key)``)."""
    query = ReportQuery.from_params({"currency": currency}, today)  # a 400 naming currency for a bad code
    mrr, revenue, aging = reports.mrr(scope, query), reports.revenue(scope, query), reports.aging(scope, query)

    def shown(amount: int) -> str:
        return format_amount(amount, currency)

    return Overview(
        currency, mrr, revenue, aging, reports.debtors(scope, query), reports.plans(scope, query),
        bars(word("mrr_by_month"), [(month, mrr_, shown(mrr_)) for month, mrr_ in mrr.series]),
        bars(word("revenue_by_month"), [(row.group or "", row.invoiced, shown(row.invoiced)) for row in revenue.rows_]),
        bars(word("aging"), [(word(f"aging_{name}"), aging.buckets.get(name, 0), shown(aging.buckets.get(name, 0)))
                             for name in AGING]),
    )  # fmt: skip


def currency_of(asked: str | None, latest: Callable[[], str | None]) -> str:
    """The currency the overview shows: the one asked for, else that of the tenant's latest
    invoice (``latest``), else USD."""
    return (asked or "").strip().upper() or latest() or FALLBACK_CURRENCY
