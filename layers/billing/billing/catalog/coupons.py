"""Coupons: a percent or an amount off, applied ``once``, for ``repeating`` periods or
``forever``; optionally limited in time (``redeem_by``), in number of redemptions, and to
some plans. Subscriptions name coupons by code. Discounts never take a line below zero
(applied by the rating engine)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from billing.catalog.fields import Code, Name, Percent
from billing.catalog.resource import CatalogInput, Entity, Kind
from billing.customers.fields import Currency
from billing.pricing.common import MinorAmount
from billing.validation import FieldError, Timestamp

Duration = Literal["once", "repeating", "forever"]
Limit = Annotated[int, Field(ge=1, le=10**9)]


class CouponCreate(CatalogInput):
    code: Code
    name: Name | None = None
    percent_off: Percent | None = None
    amount_off: MinorAmount | None = None
    currency: Currency | None = None
    duration: Duration
    duration_in_periods: Annotated[int, Field(ge=1, le=1200)] | None = None
    redeem_by: Timestamp | None = None
    max_redemptions: Limit | None = None
    applies_to_plans: Annotated[list[Code], Field(max_length=100)] = []

    @model_validator(mode="after")
    def _consistent(self) -> CouponCreate:
        if (self.percent_off is None) == (self.amount_off is None):
            raise FieldError(("percent_off",), "give exactly one of percent_off and amount_off")
        if self.amount_off is not None and self.currency is None:
            raise FieldError(("currency",), "required with amount_off", "parameter_missing")
        if self.percent_off is not None and self.currency is not None:
            raise FieldError(("currency",), "only amount_off coupons have a currency")
        if self.duration == "repeating" and self.duration_in_periods is None:
            raise FieldError(("duration_in_periods",), "required for repeating coupons", "parameter_missing")
        if self.duration != "repeating" and self.duration_in_periods is not None:
            raise FieldError(("duration_in_periods",), "only repeating coupons last a number of periods")
        return self

    def references(self) -> list[tuple[str, str, str]]:
        return [("plan", code, f"applies_to_plans[{i}]") for i, code in enumerate(self.applies_to_plans)]


class CouponUpdate(CatalogInput):
    name: Name | None = None
    redeem_by: Timestamp | None = None
    max_redemptions: Limit | None = None


class Coupon(Entity):
    code: str
    name: str | None
    percent_off: str | None
    amount_off: int | None
    currency: str | None
    duration: Duration
    duration_in_periods: int | None
    redeem_by: str | None
    max_redemptions: int | None
    applies_to_plans: list[str]
    times_redeemed: int = 0


KIND = Kind(name="coupon", id_prefix="cpn", event="Coupon", create=CouponCreate, update=CouponUpdate, entity=Coupon)
