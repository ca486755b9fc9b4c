"""``percentage``: ``percent`` of the aggregated amount, plus ``fixed_amount`` per event,
with each event's fee kept between ``min_amount`` and ``max_amount`` (card-style fees)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import model_validator

from billing.pricing.common import MinorAmount, UnitAmount
from billing.pricing.common import Params as Base
from billing.validation import FieldError


class Params(Base):
    percent: UnitAmount
    fixed_amount: MinorAmount = 0
    min_amount: MinorAmount | None = None
    max_amount: MinorAmount | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Params:
        if Decimal(self.percent) > 100:
            raise FieldError(("percent",), "must be at most 100")
        if self.min_amount is not None and self.max_amount is not None and self.min_amount > self.max_amount:
            raise FieldError(("min_amount",), "must not exceed max_amount")
        return self
