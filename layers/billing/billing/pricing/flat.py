"""``flat``: ``amount`` once per period in which the meter shows any usage."""

from __future__ import annotations

from decimal import Decimal

from billing.pricing.common import MinorAmount, Rated, Usage
from billing.pricing.common import Params as Base


class Params(Base):
    amount: MinorAmount


def rate(params: Params, usage: Usage) -> Rated:
    used = usage.quantity > 0 or usage.events > 0
    return Rated(amount=Decimal(params.amount if used else 0), units=Decimal(1 if used else 0))
