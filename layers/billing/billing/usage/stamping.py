"""The domain rules an event must pass, and the facts it is stamped with.

An event counts only for a known customer and meter, inside the acceptance
window (35 days back, 5 minutes ahead), while one of the customer's
subscriptions was running, and before that period closed (its end plus the
tenant's grace period). Lookups are cached for the length of one request, so a
batch of a thousand events for a handful of customers reads each once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from billing.catalog.meters import Meter
from billing.catalog.plans import Plan
from billing.catalog.service import CatalogService
from billing.clock import to_wire
from billing.customers import Customer
from billing.customers.service import CustomerRepository, find_customer
from billing.scope import Scope
from billing.subscriptions.model import Subscription
from billing.subscriptions.periods import covers, period_containing
from billing.subscriptions.service import SubscriptionQuery, SubscriptionRepository
from billing.usage.model import UsageEvent

MAX_AGE = timedelta(days=35)
MAX_AHEAD = timedelta(minutes=5)
MAX_SUBSCRIPTIONS = 100


class Refused(Exception):
    def __init__(self, code: str, message: str, param: str | None):
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


class Directory:
    """Where stamping looks things up: the stores of customers, subscriptions and the catalog."""

    def __init__(self, customers: CustomerRepository, subscriptions: SubscriptionRepository, catalog: CatalogService):
        self.customers, self.subscriptions, self.catalog = customers, subscriptions, catalog


class Stamper:
    """Stamps the events of one request; ``grace`` is the tenant's grace period."""

    def __init__(self, directory: Directory, scope: Scope, now: datetime, grace: timedelta):
        self._dir, self._scope, self._now, self._grace = directory, scope, now, grace
        self._customers: dict[str, Customer | None] = {}
        self._meters: dict[str, Meter | None] = {}
        self._subscriptions: dict[str, list[Subscription]] = {}
        self._plans: dict[str, Plan] = {}

    def stamp(self, raw: dict[str, Any]) -> UsageEvent:
        at = self._timestamp(raw.get("timestamp"))
        customer = self._cached(
            self._customers, raw["customer"], lambda ref: find_customer(self._dir.customers, self._scope, ref)
        )
        if customer is None:
            raise Refused("customer_not_found", f"No such customer: '{raw['customer']}'.", "customer")
        meter = self._cached(self._meters, raw["code"], lambda code: self._dir.catalog.find(self._scope, "meter", code))
        if not isinstance(meter, Meter):
            raise Refused("meter_not_found", f"No such meter: '{raw['code']}'.", "code")
        subscription, plan = self._subscription(customer.id, meter.code, at)
        start, end = period_containing(subscription, plan, at)
        if end + self._grace <= self._now:
            raise Refused(
                "period_closed",
                f"The billing period {to_wire(start)} to {to_wire(end)} is closed (grace period over).",
                "timestamp",
            )
        properties = raw.get("properties") or {}
        value, unique = measure(meter, properties)
        return UsageEvent(
            transaction_id=raw["transaction_id"],
            customer=customer.id,
            code=meter.code,
            timestamp=to_wire(at),
            properties=properties,
            subscription=subscription.id,
            period_start=to_wire(start),
            period_end=to_wire(end),
            aggregation=meter.aggregation,
            value=value,
            group={name: _text(properties.get(name)) for name in meter.group_by},
            received_at=to_wire(self._now),
            unique=unique,
        )

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
        subscriptions = self._cached(self._subscriptions, customer_id, self._subscriptions_of)
        running = [s for s in subscriptions if covers(s, at)]
        if not running:
            if any(datetime.fromisoformat(s.start_date) > at for s in subscriptions):
                raise Refused("before_subscription_start", "timestamp is before the subscription started.", "timestamp")
            raise Refused("no_subscription", "The customer had no subscription at timestamp.", "customer")
        with_plans = [(s, self._plan(s.plan)) for s in sorted(running, key=lambda s: s.id)]
        charged = [pair for pair in with_plans if any(c.get("meter") == meter_code for c in pair[1].charges)]
        return (charged or with_plans)[0]

    def _subscriptions_of(self, customer_id: str) -> list[Subscription]:
        query = SubscriptionQuery(customer=customer_id)
        return list(self._dir.subscriptions.list(self._scope, query, MAX_SUBSCRIPTIONS, None).data)

    def _plan(self, plan_id: str) -> Plan:
        if plan_id not in self._plans:
            plan = self._dir.catalog.find_by_id(self._scope, "plan", plan_id)
            assert isinstance(plan, Plan), f"subscription refers to a missing plan {plan_id}"
            self._plans[plan_id] = plan
        return self._plans[plan_id]

    @staticmethod
    def _cached(cache: dict[str, Any], key: str, load: Callable[[str], Any]) -> Any:
        if key not in cache:
            cache[key] = load(key)
        return cache[key]


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
    return value if value.is_finite() and abs(value) < Decimal(10) ** 20 else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
