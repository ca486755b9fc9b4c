"""Money as people read it: ``USD 1,234.56``, ``JPY 1,235``, ``BHD 12.345``, ``-USD 9.80``.

Amounts are integers in the currency's minor unit and are shown with the currency's exponent
(``billing.currency.exponent``), thousands separators and a leading minus sign. Unit prices
are decimal strings in minor units that may be finer than the minor unit (``"0.2"`` cents):
they keep up to six decimals beyond the exponent, without trailing zeros, and never fewer
decimals than the exponent. Only ``int`` and ``Decimal`` arithmetic, never a float.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from billing.currency import exponent

UNIT_EXTRA_PLACES = 6
"""Decimals a unit price may carry beyond the currency's exponent (as ``decimals.UNIT_QUANTUM``)."""

_WIDE = Context(prec=100)  # room for any amount at exponent + 6 decimals


def spread(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` in whole units in proportion to ``weights`` (none negative), summing to it
    exactly: each part rounded down, the units left over to the largest remainders (ties to
    the earlier weight). All zero when ``amount`` or the weights' sum is not positive. No
    float: the remainders are compared as integers."""
    total = sum(weights)
    if amount <= 0 or total <= 0:
        return [0] * len(weights)
    shares = [amount * weight // total for weight in weights]
    order = sorted(range(len(weights)), key=lambda k: (-(amount * weights[k] % total), k))
    for k in order[: amount - sum(shares)]:
        shares[k] += 1
    return shares


def format_amount(amount: int, currency: str) -> str:
    """An integer amount in minor units, e.g. ``format_amount(123456, "USD") == "USD 1,234.56"``."""
    places = exponent(currency)
    return _show(Decimal(amount).scaleb(-places, _WIDE), places, currency)


def format_unit_price(unit: str, currency: str) -> str:
    """A decimal-string unit price in minor units, e.g. ``"0.2"`` USD -> ``"USD 0.002"``."""
    places = exponent(currency)
    quantum = Decimal(1).scaleb(-(places + UNIT_EXTRA_PLACES))
    value = Decimal(unit).scaleb(-places, _WIDE).quantize(quantum, ROUND_HALF_EVEN, _WIDE)
    decimals = len(format(value, "f").partition(".")[2].rstrip("0"))
    return _show(value, max(places, decimals), currency)


def _show(value: Decimal, places: int, currency: str) -> str:
    sign = "-" if value < 0 else ""
    with localcontext(_WIDE):  # formatting rounds to the context's precision: keep every digit
        return f"{sign}{currency} {abs(value):,.{places}f}"


_TYPED = re.compile(r"[0-9]{1,15}(?:[.,]([0-9]{1,6}))?")


def parse_amount(text: str, currency: str) -> int | None:
    """What a person typed (``15``, ``15.50``, or ``15,50`` as Russian writes it) in minor units
    of ``currency``, exactly; None for anything else: a sign, grouped thousands (``1,234.56``
    would be ambiguous), more decimals than the currency has, digits other than ASCII ones."""
    typed = _TYPED.fullmatch(text.strip())
    places = exponent(currency)
    if typed is None or len(typed.group(1) or "") > places:
        return None
    whole = typed.group(0).replace(",", ".").partition(".")[0]
    return int(whole + (typed.group(1) or "").ljust(places, "0"))
