"""Field types shared by the pricing models."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo

from billing.validation import Input

MAX_DECIMALS = 12
MAX_UNIT_AMOUNT = Decimal(10**12)
"""Bounds of a unit price: at most a trillion minor units (USD 10 billion) per unit, with at
most twelve decimals, so that rating any usage stays far within exact decimal arithmetic."""
_PLAIN = re.compile(r"^(0|[1-9][0-9]{0,12})(\.[0-9]+)?$")


def _decimal_string(value: str, info: ValidationInfo) -> str:
    if info.context and info.context.get("stored"):
        return _stored(value)
    if not _PLAIN.fullmatch(value):
        raise ValueError('must be a plain decimal number written as a string, zero or more, e.g. "0.25"')
    number = Decimal(value)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMALS:
        raise ValueError(f"at most {MAX_DECIMALS} decimal places")
    if number > MAX_UNIT_AMOUNT:
        raise ValueError(f"at most {MAX_UNIT_AMOUNT:,} (minor units per unit)")
    return value


def _stored(value: str) -> str:
    """A price as stored on a plan version: written under an older, looser rule (``".5"``,
    ``"1e-3"``), it still rates; one too large to bill fails when rated, per subscription."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError("stored price is not a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError("stored price is not a finite number, zero or more")
    return value


UnitAmount = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_decimal_string)]
"""A price per unit in the currency's minor unit, as a decimal string (Stripe's
``unit_amount_decimal``): ``"0.2"`` is a fifth of a cent in USD."""

MinorAmount = Annotated[int, Field(ge=0, le=10**15)]
"""An amount in the currency's minor unit (cents for USD)."""


class Params(Input):
    """Base of each model's parameters."""


@dataclass(frozen=True)
class Usage:
    """What a charge is rated on: the period's quantity of its meter, how many events made it,
    and (only for models that price each event) the events' values."""

    quantity: Decimal
    events: int = 0
    values: Sequence[Decimal] | None = None


@dataclass(frozen=True)
class Rated:
    """A charge's price before rounding, in the currency's minor unit, and how it was reached:
    ``units`` billed (after free units), ``breakdown`` rows (a tier, the packages ...)."""

    amount: Decimal
    units: Decimal
    breakdown: list[dict[str, Any]] = field(default_factory=list)
