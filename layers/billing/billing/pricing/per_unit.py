"""``per_unit``: every unit above ``free_units`` costs ``unit_amount``."""

from __future__ import annotations

from decimal import Decimal

from billing.pricing.common import Params as Base
from billing.pricing.common import Rated, UnitAmount, Usage
from billing.quantities import Units


class Params(Base):
    unit_amount: UnitAmount
    free_units: Units = 0


def rate(params: Params, usage: Usage) -> Rated:
    units = max(Decimal(0), usage.quantity - params.free_units)
    return Rated(amount=units * Decimal(params.unit_amount), units=units)
