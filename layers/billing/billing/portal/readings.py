"""Meter readings in the portal: the customer's water, power or gas meters with their last
reading and the consumption each later reading recorded, and the form that submits one.

A meter is offered when the running subscription's plan charges it, it adds up (``sum``, the
kind readings need) and the customer already has a reading of it: the first reading, the
baseline, is set by the tenant when the meter is installed (``POST /v1/meter_readings``), so a
``sum`` meter fed by other usage (call seconds) is never offered. A reading is submitted as
the API's ``ReadingInput`` to the API's ``MeterReadings`` service, stamped now (the customer's
clock), so it is refused exactly as the API would refuse it, field by field. Its
``reading_id`` is made when the form is shown, so posting the same form twice records it once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from billing.clock import to_wire
from billing.portal.forms import read
from billing.scope import Scope

if TYPE_CHECKING:
    from billing.catalog.meters import Meter
    from billing.portal.service import Portal
    from billing.usage.model import UsageEvent
    from billing.usage.readings import ReadingState, Submitted

HISTORY = 12  # readings shown per meter
FIELDS = frozenset({"meter", "reading", "meter_replaced", "rollover", "counter_max", "timestamp", "reading_id"})


@dataclass(frozen=True)
class ReadingMeter:
    meter: Meter
    last: ReadingState
    history: list[UsageEvent]  # the consumption events of its readings, newest first


@dataclass(frozen=True)
class ReadingsView:
    meters: list[ReadingMeter]
    reading_id: str  # the form's nonce, new each time the page is shown (the reading's id: portal-{customer}-{nonce})


def readings_view(portal: Portal, scope: Scope, customer_id: str) -> ReadingsView:
    meters = [_with_history(portal, scope, customer_id, offered) for offered in _meters(portal, scope, customer_id)]
    return ReadingsView(meters, secrets.token_urlsafe(12))


def submit_reading(portal: Portal, scope: Scope, customer_id: str, form: dict[str, str]) -> Submitted:
    """The reading posted, submitted as the API's; ``forms.Refused`` (by field) when refused."""
    from billing.usage.readings import ReadingInput

    customer = portal.customer(scope, customer_id)
    offered = {meter.meter.code for meter in _meters(portal, scope, customer.id)}
    typed = {name: form.get(name, "") for name in FIELDS}
    body = {
        "customer": customer.id,
        "meter": form.get("meter", "") if form.get("meter") in offered else "",
        "reading": form.get("reading", "").strip(),
        "timestamp": to_wire(portal.services.biller.now(scope, customer.test_clock)),
        # the id is the server's: a form's nonce under the customer's own name, so no customer can
        # take an id the tenant's systems would use for another's reading (ids are tenant-wide)
        "reading_id": f"portal-{customer.id}-{form.get('reading_id', '')[:40]}" if form.get("reading_id") else "",
        "meter_replaced": form.get("meter_replaced") == "1",
        "rollover": form.get("rollover") == "1",
        "counter_max": form.get("counter_max", "").strip() or None,
    }
    return read(ReadingInput, body, typed, FIELDS, lambda reading: portal.services.readings.submit(scope, reading))


@dataclass(frozen=True)
class _Offered:
    meter: Meter
    last: ReadingState


def _meters(portal: Portal, scope: Scope, customer_id: str) -> list[_Offered]:
    services = portal.services
    subscription = portal.subscription(scope, portal.customer(scope, customer_id))
    if subscription is None:
        return []
    offered = []
    for code in sorted({charge.meter for charge in services.lookups.plan(scope, subscription.plan).charges}):
        meter = services.lookups.meter(scope, code)
        last = services.readings.last(scope, customer_id, code) if meter and meter.aggregation == "sum" else None
        if meter is not None and last is not None:
            offered.append(_Offered(meter, last))
    return offered


def _with_history(portal: Portal, scope: Scope, customer_id: str, offered: _Offered) -> ReadingMeter:
    from billing.pagination import PageRequest
    from billing.usage.service import EventQuery

    query = EventQuery.model_validate({"customer": customer_id, "code": offered.meter.code})
    events = portal.services.usage.list_events(scope, query.model_copy(update={"page": PageRequest(100)})).data
    readings = [event for event in events if event.transaction_id.startswith("mr_")][:HISTORY]
    return ReadingMeter(offered.meter, offered.last, readings)
