"""The domain rules an event must pass, and the facts it is stamped with.

An event counts only for a known customer and meter, inside the acceptance
window (35 days back, 5 minutes ahead), while one of the customer's
subscriptions was running, and before that period closed: its end (as billing
ends it: a cancellation, an interval change) plus the tenant's grace period, or
the finalization of the invoice that bills it, whichever comes first. It is
stamped with that period as billing reads it, so every accepted event is billed.
Customers and subscriptions are cached per container for ``LOOKUP_TTL_S``
(found values only), meters and plans by the catalog's lookups, so a stream of
batches for the same customers reads each once in a while; a subscription that
ended or changed is seen within that time, and an event that finds no running
subscription asks again before it is refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Clamped, Context, Decimal, Inexact, InvalidOperation, Overflow, Rounded, Underflow
from typing import Any

from billing.cache import LOOKUP_TTL_S, TtlCache
from billing.catalog.lookups import CatalogLookups
from billing.catalog.meters import Meter
from billing.catalog.plans import Plan
from billing.clock import to_wire
from billing.customers import Customer
from billing.customers.service import CustomerRepository, find_customer
from billing.quantities import MAX_DECIMALS, in_range
from billing.scope import Scope
from billing.subscriptions import cycle
from billing.subscriptions.cycle import covers, period_containing
from billing.subscriptions.model import HistoryEntry, Subscription
from billing.subscriptions.service import SubscriptionQuery, SubscriptionRepository
from billing.testclocks import ClockTimes
from billing.usage.model import BilledPeriod, UsageEvent
from billing.usage.schema import EventInput

MAX_AGE = timedelta(days=35)
MAX_AHEAD = timedelta(minutes=5)
MAX_SUBSCRIPTIONS = 100


class Refused(Exception):
    def __init__(self, code: str, message: str, param: str | None):
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


BilledPeriods = Callable[[Scope, str], Sequence[BilledPeriod]]
"""The usage periods a subscription's invoices bill."""


class Directory:
    """Where stamping looks things up (customers, subscriptions, the usage periods already
    invoiced, with a short cache of their own; the catalog through its lookups)."""

    def __init__(
        self,
        customers: CustomerRepository,
        subscriptions: SubscriptionRepository,
        catalog: CatalogLookups,
        billed: BilledPeriods,
        ttl_s: float = LOOKUP_TTL_S,
    ):
        self._customers, self._subscriptions, self._catalog = customers, subscriptions, catalog
        self._billed = billed
        self._cache: TtlCache[Any] = TtlCache(ttl_s)

    def customer(self, scope: Scope, ref: str) -> Customer | None:
        found: Customer | None = self._cache.get(
            ("cus", scope, ref), lambda: find_customer(self._customers, scope, ref)
        )
        return found

    def meter(self, scope: Scope, code: str) -> Meter | None:
        return self._catalog.meter(scope, code)

    def plan(self, scope: Scope, plan_id: str) -> Plan:
        return self._catalog.plan(scope, plan_id)

    def history(self, scope: Scope, subscription_id: str) -> list[HistoryEntry]:
        found: list[HistoryEntry] = (
            self._cache.get(
                ("hist", scope, subscription_id), lambda: list(self._subscriptions.history(scope, subscription_id))
            )
            or []
        )
        return found

    def billed(self, scope: Scope, subscription_id: str) -> list[BilledPeriod]:
        found: list[BilledPeriod] = (
            self._cache.get(("billed", scope, subscription_id), lambda: list(self._billed(scope, subscription_id)))
            or []
        )
        return found

    def subscriptions_of(self, scope: Scope, customer_id: str, fresh: bool = False) -> list[Subscription]:
        def load() -> list[Subscription]:
            query = SubscriptionQuery(customer=customer_id)
            return list(self._subscriptions.list(scope, query, MAX_SUBSCRIPTIONS, None).data)

        found: list[Subscription] = self._cache.get(("subs", scope, customer_id), load, fresh=fresh) or []
        return found


class Stamper:
    """Stamps the events of one request; ``grace`` is the tenant's grace period."""

    def __init__(
        self, directory: Directory, scope: Scope, now: datetime, grace: timedelta, times: ClockTimes | None = None
    ):
        self._dir, self._scope, self._wall, self._grace, self._times = directory, scope, now, grace, times
        self._now = now
        self._clock_times: dict[str, datetime] = {}  # a request reads each test clock once

    def stamp(self, sent: EventInput) -> UsageEvent:
        customer = self._dir.customer(self._scope, sent.customer)
        if customer is None:
            raise Refused("customer_not_found", f"No such customer: '{sent.customer}'.", "customer")
        self._now = self._wall
        if customer.test_clock and self._times:  # the customer lives on a test clock: its time counts
            if customer.test_clock not in self._clock_times:
                self._clock_times[customer.test_clock] = self._times.time_of(self._scope, customer.test_clock)
            self._now = self._clock_times[customer.test_clock]
        at = self._timestamp(sent.timestamp)
        meter = self._dir.meter(self._scope, sent.code)
        if meter is None:
            raise Refused("meter_not_found", f"No such meter: '{sent.code}'.", "code")
        subscription, plan = self._subscription(customer.id, meter.code, at)
        start, end, closes_at = self._period(subscription, plan, at)
        if closes_at is None or datetime.fromisoformat(closes_at) <= self._now:
            raise Refused(
                "period_closed",
                f"The billing period {start} to {end} is closed (its invoice is final or its grace period over).",
                "timestamp",
            )
        properties = sent.properties or {}
        for name, value in properties.items():
            if not storable(value):
                param = f"properties.{name}"
                raise Refused("property_out_of_range", f"{param} has more than 38 digits or is out of range.", param)
        value, unique = measure(meter, properties)
        for name in meter.group_by:
            if len((_text(properties.get(name)) or "").encode("utf-8", "surrogatepass")) > MAX_GROUP_VALUE_BYTES:
                param = f"properties.{name}"
                message = f"{param} groups usage: at most {MAX_GROUP_VALUE_BYTES} bytes (UTF-8)."
                raise Refused("property_out_of_range", message, param)
        return UsageEvent(
            transaction_id=sent.transaction_id,
            customer=customer.id,
            code=meter.code,
            timestamp=to_wire(at),
            properties=properties,
            subscription=subscription.id,
            period_start=start,
            period_end=end,
            aggregation=meter.aggregation,
            value=value,
            group={name: _text(properties.get(name)) for name in meter.group_by},
            received_at=to_wire(self._now),
            unique=unique,
        )

    def _period(self, subscription: Subscription, plan: Plan, at: datetime) -> tuple[str, str, str | None]:
        """The usage period ``at`` falls in, as billing reads it, and until when it takes usage:
        the current period, until its end plus the grace period; a period that is over, until
        the end of the grace period after it as the next step bills it (history decides where it
        ends: a cancellation, an interval change); a period already on an invoice, until that
        invoice is finalized (None: it is)."""
        moment = to_wire(at)
        if moment < cycle.invoiced_through(subscription):
            billed = self._dir.billed(self._scope, subscription.id)
            found = next((p for p in billed if p.start <= moment < p.end), None)
            if found:
                return found.start, found.end, found.closes_at
        elif moment < cycle.closed_through(subscription):
            history = self._dir.history(self._scope, subscription.id)
            start, end = cycle.closing_span(subscription, plan, history, moment)
            return start, end, to_wire(datetime.fromisoformat(end) + self._grace)
        begin, finish = period_containing(subscription, plan, at)  # the current period; or a trial's, not billed
        return to_wire(begin), to_wire(finish), to_wire(finish + self._grace)

    def _timestamp(self, raw: str | None) -> datetime:
        if raw is None:
            return self._now
        try:
            at = datetime.fromisoformat(raw)
        except ValueError:
            raise Refused("parameter_invalid", "timestamp is not a valid ISO 8601 instant.", "timestamp") from None
        if at < self._now - MAX_AGE:
            raise Refused("timestamp_too_old", "timestamp is more than 35 days in the past.", "timestamp")
        if at > self._now + MAX_AHEAD:
            raise Refused("timestamp_in_future", "timestamp is more than 5 minutes in the future.", "timestamp")
        return at

    def _subscription(self, customer_id: str, meter_code: str, at: datetime) -> tuple[Subscription, Plan]:
        """The subscription running at ``at``; with several, the one whose plan charges this meter."""
        subscriptions = self._dir.subscriptions_of(self._scope, customer_id)
        running = [s for s in subscriptions if covers(s, at)]
        if not running:  # perhaps just subscribed: ask again before refusing
            subscriptions = self._dir.subscriptions_of(self._scope, customer_id, fresh=True)
            running = [s for s in subscriptions if covers(s, at)]
        if not running:
            if any(datetime.fromisoformat(s.start_date) > at for s in subscriptions):
                raise Refused("before_subscription_start", "timestamp is before the subscription started.", "timestamp")
            raise Refused("no_subscription", "The customer had no subscription at timestamp.", "customer")
        with_plans = [(s, self._dir.plan(self._scope, s.plan)) for s in sorted(running, key=lambda s: s.id)]
        charged = [pair for pair in with_plans if any(c.meter == meter_code for c in pair[1].charges)]
        return (charged or with_plans)[0]


def measure(meter: Meter, properties: dict[str, Any]) -> tuple[Decimal, str | None]:
    """The event's value for the meter (1 for count), after the meter's rounding."""
    if meter.aggregation == "count" or meter.field is None:
        return Decimal(1), None
    param = f"properties.{meter.field}"
    raw = properties.get(meter.field)
    if raw is None:
        raise Refused("property_missing", f"{param} is required by meter '{meter.code}'.", param)
    if meter.aggregation == "unique_count":
        if isinstance(raw, bool):
            raise Refused("property_invalid", f"{param} must be a string or a number.", param)
        return Decimal(1), _text(raw)
    value = number(raw)
    if value is None:
        raise Refused("property_not_numeric", f"{param} must be a number (or a decimal string).", param)
    if not in_range(value):
        message = f"{param} must be below 10^15 in magnitude, with at most {MAX_DECIMALS} decimal places."
        raise Refused("property_out_of_range", message, param)
    if meter.rounding and value > 0:
        increment, minimum = Decimal(meter.rounding["increment"]), Decimal(meter.rounding.get("minimum", 0))
        value = max(Decimal(math.ceil(value / increment)) * increment, minimum)
    return value, None


def number(raw: Any) -> Decimal | None:
    """A finite decimal from a JSON number or a decimal string; never through binary float maths."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


MAX_GROUP_VALUE_BYTES = 256
"""A group value is stored on its totals (their keys hold its digest only) and printed on invoice
lines: at most 256 bytes of UTF-8, whatever its characters (any string property fits in ASCII)."""
_STORAGE = Context(prec=38, Emin=-128, Emax=126, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])


def storable(value: Any) -> bool:
    """Numbers must fit DynamoDB's (38 significant digits, magnitude 1e-130 to 1e126)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return True
    try:
        return _STORAGE.create_decimal(str(value)).is_finite()
    except (ArithmeticError, ValueError):
        return False


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
