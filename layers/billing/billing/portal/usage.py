"""The usage page: per meter of the running subscription, the current period's total (from
the aggregates, as ``GET /v1/customers/{id}/usage``), its quantity per day (from the
customer's events) drawn as a bar chart, and what it costs so far (the usage lines of the
next invoice's estimate, ``previews.upcoming``).

A day's quantity follows the meter's aggregation: additive meters (``count``, ``sum``,
``weighted_sum``) add the day's events up, ``max`` takes the largest, ``latest`` the last,
``unique_count`` counts the day's distinct values. Days are UTC days: the period's, those to
come empty (of a period longer than ``DAYS``, the ``DAYS`` ending today). The events read are
the newest ``MAX_EVENTS`` at most: a period with more says its charts are partial (its totals
stay exact). Reading events per page view is bounded so; daily aggregates would lift the bound.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from billing.clock import to_wire
from billing.decimals import plain
from billing.pages.charts import BarChart, bars
from billing.portal.model import Estimate
from billing.scope import Scope

if TYPE_CHECKING:
    from billing.portal.service import Portal
    from billing.usage.model import UsageEvent
    from billing.usage.totals import MeterTotal

DAYS = 31
MAX_EVENTS = 3000


@dataclass(frozen=True)
class MeterUsage:
    code: str
    name: str
    quantity: str  # the period's total
    cost: int | None  # what its usage lines cost so far; None where the plan does not price it
    days: list[tuple[date, str]]
    chart: BarChart


@dataclass(frozen=True)
class UsageView:
    currency: str | None
    period_start: datetime | None
    period_end: datetime | None
    meters: list[MeterUsage]
    estimate: Estimate | None
    partial: bool  # more events than were read: the charts show the newest only


def _last(values: Sequence[tuple[str, Decimal, str | None]]) -> Decimal:
    return max(values)[1]


DAILY: dict[str, Callable[[Sequence[tuple[str, Decimal, str | None]]], Decimal]] = {
    "count": lambda values: Decimal(len(values)),
    "sum": lambda values: sum((value for _, value, _ in values), Decimal(0)),
    "weighted_sum": lambda values: sum((value for _, value, _ in values), Decimal(0)),
    "max": lambda values: max(value for _, value, _ in values),
    "latest": _last,
    "unique_count": lambda values: Decimal(len({unique for _, _, unique in values})),
}


def usage_view(portal: Portal, scope: Scope, customer_id: str) -> UsageView:
    from billing.usage.service import UsageQuery

    services = portal.services
    customer = portal.customer(scope, customer_id)
    estimate = portal.estimate(scope, customer)
    if portal.subscription(scope, customer) is None:
        return UsageView(customer.currency, None, None, [], None, False)
    period = services.usage.usage(scope, customer.id, UsageQuery())
    now = services.biller.now(scope, customer.test_clock)
    events, partial = _events(portal, scope, customer.id, period.period_start)
    days = _days(period.period_start, period.period_end - timedelta(microseconds=1), now)
    costs: dict[str, int] = defaultdict(int)
    for line in estimate.invoice.lines if estimate else []:
        if line.type == "usage" and line.meter:
            costs[line.meter] += line.amount
    meters = [_meter(portal, scope, total, events, days, costs) for total in period.meters]
    return UsageView(customer.currency, period.period_start, period.period_end, meters, estimate, partial)


def _meter(
    portal: Portal,
    scope: Scope,
    total: MeterTotal,
    events: dict[str, list[UsageEvent]],
    days: list[date],
    costs: dict[str, int],
) -> MeterUsage:
    code = total.code
    meter = portal.services.lookups.meter(scope, code)
    series = _daily(events.get(code, []), days, total.aggregation)
    shown = [plain(value) for _, value in series]
    name = meter.name if meter else code
    chart = bars(name, [(day.strftime("%m-%d"), value, text) for (day, value), text in zip(series, shown, strict=True)])
    cost = costs.get(code)
    daily = [(day, text) for (day, _), text in zip(series, shown, strict=True)]
    return MeterUsage(code, name, plain(total.quantity), cost, daily, chart)


def _events(
    portal: Portal, scope: Scope, customer_id: str, since: datetime
) -> tuple[dict[str, list[UsageEvent]], bool]:
    """The customer's events since ``since``, by meter: the newest ``MAX_EVENTS``."""
    from billing.pagination import PageRequest
    from billing.usage.service import EventQuery

    query = EventQuery.model_validate({"customer": customer_id, "from": to_wire(since)})
    by_meter: dict[str, list[UsageEvent]] = defaultdict(list)
    after, read = None, 0
    while read < MAX_EVENTS:
        page = portal.services.usage.list_events(scope, query.model_copy(update={"page": PageRequest(100, after)}))
        for event in page.data:
            by_meter[event.code].append(event)
        read += len(page.data)
        if not page.has_more or not page.data:
            return by_meter, False
        after = page.data[-1].transaction_id
    return by_meter, True


def _days(start: datetime, end: datetime, now: datetime) -> list[date]:
    """The period's days (those to come stay empty); of a period longer than ``DAYS``, the
    ``DAYS`` ending today."""
    first, last = start.date(), end.date()
    if (last - first).days + 1 > DAYS:
        last = max(first, min(last, now.date()))
    count = min((last - first).days + 1, DAYS)
    return [last - timedelta(days=back) for back in reversed(range(count))]


def _daily(events: Sequence[UsageEvent], days: Sequence[date], aggregation: str) -> list[tuple[date, Decimal]]:
    by_day: dict[date, list[tuple[str, Decimal, str | None]]] = defaultdict(list)
    for event in events:
        moment = datetime.fromisoformat(event.timestamp)
        by_day[moment.date()].append((event.timestamp, event.value, event.unique))
    reduce = DAILY.get(aggregation, DAILY["sum"])
    return [(day, reduce(by_day[day]) if by_day.get(day) else Decimal(0)) for day in days]
