"""One definition of a quantity: exact, bounded, a decimal string on the wire."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from billing.quantities import Quantity, in_range

QUANTITY: TypeAdapter[Decimal] = TypeAdapter(Quantity)


@pytest.mark.parametrize("wire", ["0", "12.5", "999999999999999.999999", "007"])
def test_a_quantity_is_an_exact_decimal_written_back_as_a_string(wire: str) -> None:
    value = QUANTITY.validate_python(wire)
    assert value == Decimal(wire) and QUANTITY.dump_python(value, mode="json") == str(Decimal(wire).normalize())


@pytest.mark.parametrize("wire", ["1e3", "-1", "1000000000000000", "0.0000001", ".5", "12.", 12.5, 12, True, None])
def test_anything_else_is_refused(wire: object) -> None:
    with pytest.raises(ValidationError) as refused:
        QUANTITY.validate_python(wire)
    assert "decimal string" in refused.value.errors()[0]["msg"]


def test_signed_values_in_range_are_what_usage_events_may_carry() -> None:
    assert in_range(Decimal("-12.000001")) and in_range(Decimal("999999999999999"))
    assert not in_range(Decimal("1e15")) and not in_range(Decimal("0.0000001"))
