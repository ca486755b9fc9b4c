"""Tier tables shared by ``graduated`` and ``volume``.

Tiers are listed in order; each ``up_to`` is larger than the one before, and
the last tier is open-ended (``up_to: null``). A tier may carry a per-unit
price, a flat amount, or both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, model_validator

from billing.decimals import plain
from billing.pricing.common import MinorAmount, Params, UnitAmount
from billing.quantities import Units
from billing.validation import FieldError, Input


class Tier(Input):
    up_to: Annotated[Units, Field(gt=0)] | None
    unit_amount: UnitAmount = "0"
    flat_amount: MinorAmount = 0


class TieredParams(Params):
    tiers: Annotated[list[Tier], Field(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _ordered_and_open_ended(self) -> TieredParams:
        previous = 0
        for index, tier in enumerate(self.tiers):
            last = index == len(self.tiers) - 1
            if tier.up_to is None and not last:
                raise _at(index, "only the last tier may be open-ended (up_to: null)")
            if tier.up_to is not None and last:
                raise _at(index, "the last tier must be open-ended (up_to: null)")
            if tier.up_to is not None:
                if tier.up_to <= previous:
                    raise _at(index, f"up_to must be greater than the previous tier's ({previous})")
                previous = tier.up_to
        return self


def _at(index: int, message: str) -> FieldError:
    """A tier table problem, reported at that tier's ``up_to``."""
    return FieldError(("tiers", index, "up_to"), message)


def bounds(tiers: Sequence[Tier]) -> Iterator[tuple[Tier, Decimal, Decimal | None]]:
    """Each tier with the units below it and its upper bound (None: open-ended)."""
    low = Decimal(0)
    for tier in tiers:
        high = Decimal(tier.up_to) if tier.up_to is not None else None
        yield tier, low, high
        if high is not None:
            low = high


def row(tier: Tier, low: Decimal, units: Decimal, amount: Decimal) -> dict[str, Any]:
    """One breakdown row: which tier, how many units it priced, at what price, for how much."""
    return {
        "from": plain(low),
        "up_to": tier.up_to,
        "units": plain(units),
        "unit_amount": tier.unit_amount,
        "flat_amount": tier.flat_amount,
        "amount": plain(amount),
    }
