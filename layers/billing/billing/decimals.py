"""Decimal helpers shared by usage and rating: exact values on the wire, one rounding rule."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction

from billing.errors import DomainRuleViolation

ROUNDING = "half_even"
"""How amounts are rounded to the currency's minor unit: once per invoice line, half to even
(banker's rounding), recorded on every invoice."""


def plain(value: Decimal) -> str:
    """A decimal string without exponent or trailing zeros (``"12.5"``, ``"100"``)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


MAX_AMOUNT = 10**18
"""The largest amount of one line, in minor units (a quintillion cents): rating that comes to
more is refused (``amount_out_of_range``), never rounded into nonsense."""
_WIDE = Context(prec=100)


def to_minor(amount: Decimal | Fraction) -> int:
    """An amount in (fractional) minor units rounded to a whole minor unit, half to even.

    A ``Fraction`` (a prorated price: price x seconds left / seconds in the period) is rounded
    exactly, so a share is never rounded before the amount it scales."""
    if not _billable(amount):
        raise DomainRuleViolation(
            f"A line comes to more than can be billed ({MAX_AMOUNT:,} minor units at most).",
            code="amount_out_of_range",
        )
    if isinstance(amount, Fraction):
        return round(amount)  # Fraction rounds half to even
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN, context=_WIDE))


def _billable(amount: Decimal | Fraction) -> bool:
    if isinstance(amount, Fraction):
        return abs(amount) <= MAX_AMOUNT
    return amount.is_finite() and abs(amount) <= MAX_AMOUNT


UNIT_QUANTUM = Decimal("0.000001")


def unit_price(value: Decimal | Fraction) -> str:
    """A (prorated) unit price in minor units as shown on a line: six decimals at most."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return plain(value.quantize(UNIT_QUANTUM, rounding=ROUND_HALF_EVEN))
