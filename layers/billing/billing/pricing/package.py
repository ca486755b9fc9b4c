"""``package``: ``unit_amount`` per started package of ``package_size`` units above ``free_units``
(a package of 10 at 1.00 with 121 units: 13 packages, 13.00)."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Annotated

from pydantic import Field

from billing.pricing.common import Params as Base
from billing.pricing.common import Rated, UnitAmount, Usage
from billing.quantities import Units


class Params(Base):
    package_size: Annotated[int, Field(gt=0, le=10**12)]
    unit_amount: UnitAmount
    free_units: Units = 0


def rate(params: Params, usage: Usage) -> Rated:
    units = max(Decimal(0), usage.quantity - params.free_units)
    packages = (units / params.package_size).to_integral_value(rounding=ROUND_CEILING)
    row = {"packages": str(packages), "package_size": params.package_size, "unit_amount": params.unit_amount}
    return Rated(amount=packages * Decimal(params.unit_amount), units=units, breakdown=[row])
