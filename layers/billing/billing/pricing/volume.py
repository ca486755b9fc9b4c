"""``volume``: the tier the period's total falls in prices every unit (plus its flat amount);
no usage costs nothing."""

from __future__ import annotations

from decimal import Decimal

from billing.pricing.common import Rated, Usage
from billing.pricing.tiers import TieredParams, bounds, row


class Params(TieredParams):
    pass


def rate(params: Params, usage: Usage) -> Rated:
    if usage.quantity <= 0:
        return Rated(amount=Decimal(0), units=Decimal(0))
    for tier, low, high in bounds(params.tiers):
        if high is None or usage.quantity <= high:
            price = usage.quantity * Decimal(tier.unit_amount) + tier.flat_amount
            return Rated(amount=price, units=usage.quantity, breakdown=[row(tier, low, usage.quantity, price)])
    raise AssertionError("the last tier is open-ended")
