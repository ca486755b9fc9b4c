"""``package``: ``unit_amount`` per started package of ``package_size`` units above ``free_units``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from billing.pricing.common import Params as Base
from billing.pricing.common import Quantity, UnitAmount


class Params(Base):
    package_size: Annotated[int, Field(gt=0, le=10**12)]
    unit_amount: UnitAmount
    free_units: Quantity = 0
