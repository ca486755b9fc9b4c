"""``percentage``: ``percent`` of the aggregated amount, plus ``fixed_amount`` per event,
with each event's fee kept between ``min_amount`` and ``max_amount`` (card-style fees).

Without bounds the fee is computed from the period's totals; with bounds each event's fee
is clamped on its own, so the events' values are needed (``Usage.values``)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import model_validator

from billing.pricing.common import MinorAmount, Rated, UnitAmount, Usage
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

    @property
    def per_event(self) -> bool:
        return self.min_amount is not None or self.max_amount is not None


def rate(params: Params, usage: Usage) -> Rated:
    share = Decimal(params.percent) / 100
    if not params.per_event:
        amount = usage.quantity * share + params.fixed_amount * usage.events
        return Rated(amount=amount, units=usage.quantity)
    if usage.values is None:
        raise ValueError("percentage charges with min_amount or max_amount are rated per event")
    amount = Decimal(0)
    for value in usage.values:
        fee = value * share + params.fixed_amount
        if params.min_amount is not None:
            fee = max(fee, Decimal(params.min_amount))
        if params.max_amount is not None:
            fee = min(fee, Decimal(params.max_amount))
        amount += fee
    return Rated(amount=amount, units=usage.quantity, breakdown=[{"events": len(usage.values)}])
