"""``graduated``: each tier prices only the units that fall inside it (tax brackets); a tier's
``flat_amount`` is added once any unit reaches it."""

from __future__ import annotations

from decimal import Decimal

from billing.pricing.common import Rated, Usage
from billing.pricing.tiers import TieredParams, bounds, row


class Params(TieredParams):
    pass


def rate(params: Params, usage: Usage) -> Rated:
    amount, rows = Decimal(0), []
    for tier, low, high in bounds(params.tiers):
        units = max(Decimal(0), min(usage.quantity, high) - low) if high is not None else usage.quantity - low
        if units <= 0:
            break
        price = units * Decimal(tier.unit_amount) + tier.flat_amount
        amount += price
        rows.append(row(tier, low, units, price))
    return Rated(amount=amount, units=max(usage.quantity, Decimal(0)), breakdown=rows)
