"""Rating at once: the price of an event of a prepaid customer the moment it arrives.

A period's usage of one meter is rated by each charge of the plan on the period's quantity
(``invoicing.usage_lines``), rounded once per line. Rating each event on its own and rounding
it would drift from that (a price of 0.00025 cents a unit rounds every single event to 0),
and tiered prices depend on where the period's quantity stands. So a meter keeps its
``Running`` state per subscription period (quantity, event count, the amount debited so far),
and an event is debited the difference it makes to the period's rounded price:

    debit = price(quantity after) - price(quantity before)

where ``price`` is what the statement's usage lines of the period would come to. The debits of
a period therefore add up exactly to its usage lines (the sum telescopes), whatever the model:
graduated tiers are charged at their marginal price, a ``flat`` charge with the first event, a
``package`` as each new package starts. A ``volume`` price can fall as the quantity grows into a
cheaper tier: that event's debit is negative and gives money back to the balance, and the
period still adds up to its line. ``percentage`` charges with per-event bounds keep their exact,
unrounded sum of fees (``fees``).

Only meters whose period quantity grows event by event are rated at once: ``count``, ``sum``
and ``max``. ``unique_count``, ``latest`` and ``weighted_sum`` quantities depend on other
events (or on time), so their usage is billed on the statement from the period's totals and
taken from the balance when the statement is finalized (``NOT_RATED_AT_ONCE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from billing.catalog.charges import Charge
from billing.decimals import to_minor
from billing.pricing import MODELS, Usage, percentage

RATED_AT_ONCE = frozenset({"count", "sum", "max"})
NOT_RATED_AT_ONCE = frozenset({"unique_count", "latest", "weighted_sum"})


@dataclass(frozen=True)
class Running:
    """One meter's usage so far in one subscription period, as rated at once: the period's
    ``quantity`` and ``events``, each per-event charge's unrounded ``fees`` (by the charge's index
    among the meter's charges), the ``amount`` debited so far (the period's rounded price) and a
    ``version`` bumped by every debit (the store's optimistic lock)."""

    quantity: Decimal = Decimal(0)
    events: int = 0
    fees: tuple[Decimal, ...] = ()
    amount: int = 0
    version: int = 0


@dataclass(frozen=True)
class Step:
    """What one event (or an authorized quantity) does to a meter's running state."""

    before: Running
    after: Running
    charges: Sequence[Charge] = field(default_factory=tuple)

    @property
    def amount(self) -> int:
        """The debit, in the currency's minor unit (negative: money given back)."""
        return self.after.amount - self.before.amount


def charges_of(charges: Sequence[Charge], code: str) -> list[Charge]:
    """The plan's charges on one meter, in the plan's order."""
    return [charge for charge in charges if charge.meter == code]


def rated_at_once(aggregation: str) -> bool:
    return aggregation in RATED_AT_ONCE


def step(charges: Sequence[Charge], aggregation: str, before: Running, value: Decimal, events: int = 1) -> Step:
    """The running state after ``events`` events adding up to ``value`` (a ``count`` meter's
    events are worth 1 each; ``max`` keeps the largest value), and the debit that makes."""
    if not rated_at_once(aggregation):
        raise ValueError(f"{aggregation} meters are not rated at once")
    quantity = max(before.quantity, value) if aggregation == "max" else before.quantity + value
    count = before.events + events
    fees = list(before.fees) + [Decimal(0)] * (len(charges) - len(before.fees))
    amount = 0
    for index, charge in enumerate(charges):
        params = charge.params
        if isinstance(params, percentage.Params) and params.per_event:
            each = value / events if events else Decimal(0)
            fees[index] += percentage.rate(params, Usage(each, 1, [each])).amount * events
            amount += to_minor(fees[index])
        else:
            amount += to_minor(MODELS[charge.model].rate(params, Usage(quantity, count)).amount)
    after = Running(quantity, count, tuple(fees), amount, before.version + 1)
    return Step(before, after, tuple(charges))
