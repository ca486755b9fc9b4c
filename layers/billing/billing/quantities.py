"""Quantities: how many units of something (usage, a meter reading, free units, add-on seats).

A quantity is exact: a ``Decimal``, or an ``int`` where only whole units make sense, never a
float. Every quantity stays below 10^15 with at most six decimals, so that totals of
billions of events, time-weighted over a year, keep every digit within DynamoDB's 38
significant digits. On the wire a decimal quantity is a string (``"12.5"``), a whole one a
JSON integer.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer, PlainValidator

from billing.decimals import plain

MAX_DECIMALS = 6
MAX_UNITS = 10**15
_LIMIT = Decimal(MAX_UNITS)
_WIRE = re.compile(r"^\d{1,15}(\.\d{1,6})?$")


def in_range(value: Decimal) -> bool:
    """Below 10^15 in magnitude, with at most ``MAX_DECIMALS`` decimal places."""
    exponent = value.normalize().as_tuple().exponent
    return abs(value) < _LIMIT and (value == 0 or (isinstance(exponent, int) and exponent >= -MAX_DECIMALS))


def _quantity(value: object) -> Decimal:
    if not isinstance(value, str) or not _WIRE.fullmatch(value):
        raise ValueError(
            f"must be a decimal string, zero or more, below 10^15 with at most {MAX_DECIMALS} decimal places,"
            ' e.g. "12.5"'
        )
    return Decimal(value)


Quantity = Annotated[Decimal, PlainValidator(_quantity), PlainSerializer(plain, return_type=str)]
"""A decimal quantity, zero or more, written on the wire as a plain decimal string."""

Units = Annotated[int, Field(ge=0, le=MAX_UNITS)]
"""A whole number of units, from 0 to 10^15 (free units, tier bounds)."""

AddOnQuantity = Annotated[int, Field(ge=1, le=10**6)]
"""How many of an add-on a subscription carries (seats, licences): 1 to a million."""
