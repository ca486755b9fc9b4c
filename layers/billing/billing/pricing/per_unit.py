"""``per_unit``: every unit above ``free_units`` costs ``unit_amount``."""

from __future__ import annotations

from billing.pricing.common import Params as Base
from billing.pricing.common import Quantity, UnitAmount


class Params(Base):
    unit_amount: UnitAmount
    free_units: Quantity = 0
