"""Meter readings (water, power, gas): absolute counter values turned into consumption.

The first reading of a customer's meter sets its baseline. Each later reading
must be later in time; its consumption is the difference to the previous
reading, recorded as a usage event ``mr_{reading_id}`` on the meter (a ``sum``
meter). A lower reading is refused unless the meter was replaced (the new
counter started at zero, so the reading is the consumption) or the counter
rolled over at ``counter_max`` (consumption = counter_max - previous + reading).

The reading state moves first, guarded by its revision, and names the event
it implies; the event is stored after. A retry of the same reading finds the
state already moved and stores the event again if needed, so a crash in
between loses nothing and counts nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, Protocol

from pydantic import Field

from billing.catalog.lookups import CatalogLookups
from billing.catalog.meters import Meter
from billing.customers.service import CustomerRepository, find_customer
from billing.errors import DomainRuleViolation, InvalidRequest
from billing.quantities import Quantity
from billing.scope import Scope
from billing.usage import schema
from billing.usage.ingest import UsageIngest
from billing.usage.schema import EventInput
from billing.usage.totals import wire
from billing.validation import Input, Timestamp


class ReadingInput(Input):
    customer: Annotated[str, Field(min_length=1, max_length=128)]
    meter: Annotated[str, Field(min_length=1, max_length=64)]
    reading: Quantity
    timestamp: Timestamp
    reading_id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[!-~]+$")]
    meter_replaced: bool = False
    rollover: bool = False
    counter_max: Quantity | None = None


@dataclass(frozen=True)
class ReadingState:
    """The last reading of one customer's meter."""

    customer: str
    meter: str
    reading_id: str
    reading: Decimal
    timestamp: str
    consumption: Decimal | None  # None for the baseline
    baseline_id: str
    revision: int


@dataclass(frozen=True)
class Submitted:
    """What a reading did: set the ``baseline``, was ``accepted`` (its consumption counts), or
    was a ``duplicate``. ``state`` is the reading's, or None for a duplicate of a reading that
    is no longer the last one."""

    reading_id: str
    status: Literal["baseline", "accepted", "duplicate"]
    state: ReadingState | None = None

    def to_public(self) -> dict[str, Any]:
        if self.state is None:
            return {"object": "meter_reading", "reading_id": self.reading_id, "status": self.status}
        return {
            "object": "meter_reading",
            "reading_id": self.state.reading_id,
            "customer": self.state.customer,
            "meter": self.state.meter,
            "reading": wire(self.state.reading),
            "timestamp": self.state.timestamp,
            "consumption": wire(self.state.consumption or Decimal(0)),
            "status": self.status,
        }


class ReadingStore(Protocol):
    def get(self, scope: Scope, customer: str, meter: str) -> ReadingState | None: ...

    def save(self, scope: Scope, state: ReadingState) -> None:
        """Create (revision 1) or move from ``revision - 1``; a retryable Conflict if it moved."""


class MeterReadings:
    def __init__(
        self, ingest: UsageIngest, store: ReadingStore, catalog: CatalogLookups, customers: CustomerRepository
    ):
        self._ingest, self._store, self._catalog, self._customers = ingest, store, catalog, customers

    def submit(self, scope: Scope, data: ReadingInput) -> Submitted:
        meter = self._catalog.meter(scope, data.meter)
        if meter is None:
            raise DomainRuleViolation(f"No such meter: '{data.meter}'.", code="meter_not_found", param="meter")
        if meter.aggregation != "sum":
            raise DomainRuleViolation(
                f"Meter '{meter.code}' aggregates by {meter.aggregation}; readings need a sum meter.",
                code="meter_not_cumulative",
                param="meter",
            )
        found = find_customer(self._customers, scope, data.customer)
        if found is None:
            raise DomainRuleViolation(
                f"No such customer: '{data.customer}'.", code="customer_not_found", param="customer"
            )
        customer = found.id
        last = self._store.get(scope, customer, meter.code)
        if last is None:
            state = ReadingState(
                customer, meter.code, data.reading_id, data.reading, data.timestamp, None, data.reading_id, 1
            )
            self._store.save(scope, state)
            return Submitted(data.reading_id, "baseline", state)
        if data.reading_id == last.reading_id:
            if last.consumption is not None:  # its event may not be stored yet: store it (once)
                self._keep(scope, meter, last)
            return Submitted(data.reading_id, "duplicate", last)
        if data.reading_id == last.baseline_id or self._ingest.stored(scope, f"mr_{data.reading_id}"):
            return Submitted(data.reading_id, "duplicate")
        if data.timestamp <= last.timestamp:
            raise DomainRuleViolation(
                f"timestamp must be after the last reading ({last.timestamp}).",
                code="reading_out_of_order",
                param="timestamp",
            )
        consumption = _consumption(data, last.reading)
        state = ReadingState(
            customer,
            meter.code,
            data.reading_id,
            data.reading,
            data.timestamp,
            consumption,
            last.baseline_id,
            last.revision + 1,
        )
        self._ingest.prepare(scope, _event(meter, customer, data.reading_id, data.timestamp, wire(consumption)))
        self._store.save(scope, state)
        self._keep(scope, meter, state)
        return Submitted(data.reading_id, "accepted", state)

    def last(self, scope: Scope, customer: str, meter: str) -> ReadingState | None:
        """The last reading of a customer's meter (its baseline if there is no other yet)."""
        return self._store.get(scope, customer, meter)

    def _keep(self, scope: Scope, meter: Meter, state: ReadingState) -> None:
        assert state.consumption is not None
        event = _event(meter, state.customer, state.reading_id, state.timestamp, wire(state.consumption))
        self._ingest.keep(scope, self._ingest.prepare(scope, event))


def _event(meter: Meter, customer: str, reading_id: str, timestamp: str, consumption: str) -> EventInput:
    """The usage event a reading implies, checked against the usage event contract."""
    body = {
        "transaction_id": f"mr_{reading_id}",
        "customer": customer,
        "code": meter.code,
        "timestamp": timestamp,
        "properties": {str(meter.field): consumption},
    }
    return schema.read_one(body)


def _consumption(data: ReadingInput, previous: Decimal) -> Decimal:
    reading = data.reading
    if reading >= previous:
        return reading - previous
    if data.meter_replaced:
        return reading
    if data.rollover:
        if data.counter_max is None or data.counter_max <= previous:
            raise InvalidRequest("A rollover needs counter_max above the previous reading.", param="counter_max")
        return data.counter_max - previous + reading
    raise DomainRuleViolation(
        f"reading is below the previous reading ({wire(previous)}); "
        "set meter_replaced or rollover (with counter_max) if that is what happened.",
        code="reading_decreased",
        param="reading",
    )
