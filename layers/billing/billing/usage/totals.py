"""How events add up, per meter aggregation, into totals kept per billing period.

Totals are kept per (subscription, period, meter, group) in a form that events
can be added to in any order: an event count ``n``, a ``total`` of values, the
``wsum`` of weighted meters, the largest value, the latest value, and the
number of distinct values (each distinct value is remembered once).

``weighted_sum`` meters take increments (seats +3, storage -20 GB) and bill
the time-weighted level over the period: the level at the start carried from
earlier periods, plus each increment weighted by the share of the period left
after it. As the weights are fixed by the event's own timestamp, the sum is
additive and late events simply add their share.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from billing.decimals import plain
from billing.periods import seconds
from billing.scope import Scope
from billing.usage.model import UsageEvent, group_key

QUANTUM = Decimal("0.000000000001")


@dataclass(frozen=True)
class AggregateKey:
    scope: Scope
    subscription: str
    period_start: str
    code: str
    group_key: str


@dataclass
class Delta:
    """What a run of events adds to one aggregate."""

    aggregation: str
    period_end: str
    group: dict[str, str | None]
    n: int = 0
    total: Decimal = Decimal(0)
    wsum: Decimal = Decimal(0)
    max: Decimal | None = None
    latest: tuple[str, Decimal] | None = None  # (timestamp#transaction_id, value)
    uniques: set[str] = field(default_factory=set)

    def add(self, event: UsageEvent) -> None:
        self.n += 1
        self.total += event.value
        if self.aggregation == "weighted_sum":
            self.wsum += event.value * seconds(event.timestamp, event.period_end)
        if self.max is None or event.value > self.max:
            self.max = event.value
        order = f"{event.timestamp}#{event.transaction_id}"
        if self.latest is None or order > self.latest[0]:
            self.latest = (order, event.value)
        if event.unique is not None:
            self.uniques.add(event.unique)


def key_of(scope: Scope, event: UsageEvent) -> AggregateKey:
    return AggregateKey(scope, event.subscription, event.period_start, event.code, event.group_key)


def fold(facts: Iterable[tuple[Scope, UsageEvent]]) -> dict[AggregateKey, Delta]:
    deltas: dict[AggregateKey, Delta] = {}
    for scope, event in facts:
        key = key_of(scope, event)
        if key not in deltas:
            deltas[key] = Delta(event.aggregation, event.period_end, event.group)
        deltas[key].add(event)
    return deltas


@dataclass(frozen=True)
class Stored:
    """One stored aggregate, as read back."""

    code: str
    group: dict[str, str | None]
    aggregation: str
    n: int = 0
    total: Decimal = Decimal(0)
    wsum: Decimal = Decimal(0)
    max: Decimal | None = None
    latest: Decimal | None = None
    unique: int = 0


def quantity(stored: Stored, period: tuple[str, str], level_before: Decimal = Decimal(0)) -> Decimal:
    """The billable quantity of one aggregate over ``period``."""
    match stored.aggregation:
        case "count":
            return Decimal(stored.n)
        case "sum":
            return stored.total
        case "max":
            return stored.max or Decimal(0)
        case "latest":
            return stored.latest or Decimal(0)
        case "unique_count":
            return Decimal(stored.unique)
        case "weighted_sum":
            length = seconds(*period)
            if not length:
                return level_before
            with localcontext(prec=60):
                return ((level_before * length + stored.wsum) / length).quantize(QUANTUM)
    raise ValueError(f"unknown aggregation {stored.aggregation!r}")


def combine(aggregation: str, quantities: Sequence[Decimal]) -> Decimal:
    """A meter's quantity over all its groups."""
    if not quantities:
        return Decimal(0)
    if aggregation in {"max", "latest"}:
        return max(quantities)
    return sum(quantities, Decimal(0))


wire = plain
"""A quantity on the wire: a decimal string without exponent or trailing zeros."""


@dataclass
class MeterTotal:
    """A meter's quantity over a period, over all its groups, with each group's."""

    code: str
    aggregation: str
    quantity: Decimal = Decimal(0)
    events: int = 0
    groups: list[tuple[dict[str, str | None], Decimal]] = field(default_factory=list)

    def to_public(self) -> dict[str, Any]:
        """As a usage answer's ``meters`` show it: its quantity and its groups'."""
        return {
            "code": self.code,
            "aggregation": self.aggregation,
            "quantity": wire(self.quantity),
            "groups": [{"group": group, "quantity": wire(value)} for group, value in self.groups],
        }


def meter_totals(
    stored: Sequence[Stored], period: tuple[str, str], levels: dict[tuple[str, str], Decimal]
) -> dict[str, MeterTotal]:
    """Per meter code: its quantity over ``period`` (``combine`` of its groups') and event count."""
    totals: dict[str, MeterTotal] = {}
    values: dict[str, list[Decimal]] = {}
    for item in sorted(stored, key=lambda s: (s.code, sorted((k, v or "") for k, v in s.group.items()))):
        value = quantity(item, period, levels.get((item.code, group_key(item.group)), Decimal(0)))
        total = totals.setdefault(item.code, MeterTotal(item.code, item.aggregation))
        values.setdefault(item.code, []).append(value)
        total.events += item.n
        if item.group:
            total.groups.append((item.group, value))
    for code, total in totals.items():
        total.quantity = combine(total.aggregation, values[code])
    return totals
