"""``flat``: ``amount`` once per period in which the meter shows any usage."""

from __future__ import annotations

from billing.pricing.common import MinorAmount
from billing.pricing.common import Params as Base


class Params(Base):
    amount: MinorAmount
