"""Reading usage: a customer's totals for a billing period, and its raw events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, Protocol, cast, get_args

from pydantic import Field

from billing.catalog.lookups import CatalogLookups
from billing.clock import Clock, SystemClock, to_wire
from billing.customers import Customer
from billing.customers.service import CustomerRepository, find_customer
from billing.errors import DomainRuleViolation, InvalidRequest, NotFound
from billing.pagination import Page, PageRequest, page_request
from billing.scope import Scope
from billing.subscriptions.cycle import covers, period_containing
from billing.subscriptions.model import Subscription
from billing.subscriptions.service import SubscriptionQuery, SubscriptionService
from billing.testclocks import ClockTimes, now_for
from billing.usage.model import UsageEvent, group_key
from billing.usage.totals import MeterTotal, Stored, meter_totals
from billing.validation import Input, Timestamp, parse

Which = Literal["current", "previous"]


class AggregateReader(Protocol):
    def period(self, scope: Scope, subscription: str, period_start: str) -> list[Stored]: ...

    def levels(self, scope: Scope, subscription: str) -> dict[tuple[str, str], Decimal]:
        """Running totals of weighted meters over all periods, by (meter code, group key)."""


class EventReader(Protocol):
    def get(self, scope: Scope, transaction_id: str) -> UsageEvent | None: ...

    def for_customer(
        self, scope: Scope, customer: str, window: tuple[str, str], code: str | None, limit: int, before: str | None
    ) -> tuple[list[UsageEvent], str | None]:
        """Events newest first below ``before`` (``timestamp#transaction_id``), and the position
        the next page starts below, None at the end (a bounded read may stop before ``limit``)."""


class EventQuery(Input):
    """``GET /v1/events``: a customer's events, newest first, by meter and time window.
    ``page.starting_after`` is a transaction id (events have no ids of their own)."""

    customer: Annotated[str, Field(min_length=1, max_length=128)]
    code: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    from_: Timestamp | None = Field(default=None, alias="from")
    to: Timestamp | None = None
    page: PageRequest = Field(default_factory=PageRequest, exclude=True)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> EventQuery:
        """The query string; a 400 naming a bad parameter."""
        page = page_request({k: v for k, v in params.items() if k != "starting_after"}, "evt")
        query = parse(cls, {k: v for k, v in params.items() if k not in {"limit", "starting_after"}})
        return query.model_copy(update={"page": PageRequest(page.limit, params.get("starting_after"))})


@dataclass(frozen=True)
class UsageQuery:
    """``GET /v1/customers/{id}/usage``: the subscription (the customer's only running one when
    None) and which of its periods."""

    subscription: str | None = None
    period: Which = "current"

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> UsageQuery:
        period = params.get("period", "current")
        if period not in get_args(Which):
            raise InvalidRequest("period must be 'current' or 'previous'.", param="period")
        return cls(params.get("subscription"), cast(Which, period))


@dataclass(frozen=True)
class PeriodUsage:
    """A customer's usage over one subscription period, per meter, from the aggregates."""

    customer: str
    subscription: str
    period_start: datetime
    period_end: datetime
    meters: list[MeterTotal]

    def to_public(self, livemode: bool) -> dict[str, Any]:
        return {
            "object": "usage",
            "livemode": livemode,
            "customer": self.customer,
            "subscription": self.subscription,
            "period_start": to_wire(self.period_start),
            "period_end": to_wire(self.period_end),
            "meters": [meter.to_public() for meter in self.meters],
        }


class UsageService:
    def __init__(
        self,
        subscriptions: SubscriptionService,
        customers: CustomerRepository,
        catalog: CatalogLookups,
        aggregates: AggregateReader,
        events: EventReader,
        clock: Clock | None = None,
        times: ClockTimes | None = None,
    ):
        self._times = times
        self._subscriptions, self._customers, self._catalog = subscriptions, customers, catalog
        self._aggregates, self._events = aggregates, events
        self._clock = clock or SystemClock()

    def usage(self, scope: Scope, customer_ref: str, query: UsageQuery) -> PeriodUsage:
        """Totals of one subscription period, straight from the aggregates (no event is read)."""
        customer = self.customer(scope, customer_ref, "id")
        subscription = self.running_subscription(scope, customer, query.subscription)
        plan = self._catalog.plan(scope, subscription.plan)
        periods = [period_containing(subscription, plan, now_for(self._clock, self._times, scope, customer.test_clock))]
        if query.period == "previous":
            if periods[0][0] <= datetime.fromisoformat(subscription.start_date):
                raise DomainRuleViolation("The subscription has no previous period yet.", code="no_previous_period")
            periods.insert(0, period_containing(subscription, plan, periods[0][0] - timedelta(microseconds=1)))
        stored = [self._aggregates.period(scope, subscription.id, to_wire(start)) for start, _ in periods]
        start, end = periods[0]
        levels = self._levels(scope, subscription.id, stored)
        meters = list(meter_totals(stored[0], (to_wire(start), to_wire(end)), levels).values())
        shown = {meter.code for meter in meters}
        for code in sorted({charge.meter for charge in plan.charges} - shown):
            meter = self._catalog.meter(scope, code)
            if meter is not None:
                meters.append(MeterTotal(code, meter.aggregation))
        return PeriodUsage(customer.id, subscription.id, start, end, meters)

    def list_events(self, scope: Scope, query: EventQuery) -> Page[UsageEvent]:
        customer = self.customer(scope, query.customer, "customer")
        before = None
        if cursor := query.page.starting_after:
            event = self._events.get(scope, cursor)
            if event is None or event.customer != customer.id:
                raise InvalidRequest(f"No such event: '{cursor}'.", param="starting_after")
            before = f"{event.timestamp}#{event.transaction_id}"
        window = (query.from_ or "0000", query.to or "9999")
        events, after = self._events.for_customer(scope, customer.id, window, query.code, query.page.limit, before)
        return Page.of(events, after.partition("#")[2] if after else None)  # the transaction id there

    def customer(self, scope: Scope, ref: str, param: str) -> Customer:
        customer = find_customer(self._customers, scope, ref)
        if customer is None:
            raise NotFound(f"No such customer: '{ref}'", param=param)
        return customer

    def running_subscription(self, scope: Scope, customer: Customer, subscription_id: str | None) -> Subscription:
        """The subscription named, or the customer's only running one."""
        if subscription_id:
            try:
                subscription = self._subscriptions.get(scope, subscription_id)
            except NotFound:
                raise NotFound(f"No such subscription: '{subscription_id}'", param="subscription") from None
            if subscription.customer != customer.id:
                raise NotFound(f"No such subscription: '{subscription_id}'", param="subscription")
            return subscription
        query = SubscriptionQuery(customer=customer.id, page=PageRequest(limit=100))
        listed = self._subscriptions.list(scope, query).data
        now = now_for(self._clock, self._times, scope, customer.test_clock)
        running = [s for s in listed if covers(s, now)]
        if len(running) > 1:
            raise InvalidRequest("The customer has several subscriptions: name one.", param="subscription")
        if not running:
            raise DomainRuleViolation("The customer has no running subscription.", code="no_subscription")
        return running[0]

    def period_totals(
        self, scope: Scope, subscription_id: str, period: tuple[str, str], later: Sequence[str] = ()
    ) -> dict[str, MeterTotal]:
        """Each meter's totals over ``period`` of a subscription (its aggregates are keyed by the
        period's start); ``later`` names the starts of the periods after it that have usage,
        whose increments weighted meters take out of the running level."""
        stored = [self._aggregates.period(scope, subscription_id, start) for start in (period[0], *later)]
        return meter_totals(stored[0], period, self._levels(scope, subscription_id, stored))

    def period_values(self, scope: Scope, subscription: Subscription, period_start: str, code: str) -> list[Decimal]:
        """The values of one meter's events in a subscription period (charges priced per event)."""
        window = (period_start, "9999")
        values: list[Decimal] = []
        before = None
        while True:
            events, before = self._events.for_customer(scope, subscription.customer, window, code, 100, before)
            for event in events:
                if event.subscription == subscription.id and event.period_start == period_start:
                    values.append(event.value)
            if before is None:
                return values

    def _levels(
        self, scope: Scope, subscription_id: str, stored: Sequence[list[Stored]]
    ) -> dict[tuple[str, str], Decimal]:
        """Level of each weighted meter at the period's start: all increments so far, less
        those of this period and the later ones."""
        weighted = [s for period in stored for s in period if s.aggregation == "weighted_sum"]
        if not weighted:
            return {}
        levels = dict(self._aggregates.levels(scope, subscription_id))
        for item in weighted:
            key = (item.code, group_key(item.group))
            levels[key] = levels.get(key, Decimal(0)) - item.total
        return levels
