"""The DynamoDB attribute codec follows boto3's ``TypeSerializer``/``TypeDeserializer`` exactly
(the adapters use it so the API function does not import boto3 at cold start)."""

from __future__ import annotations

from decimal import Decimal, Inexact, Rounded
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from billing.adapters.dynamodb.attributes import deserialize, serialize

numbers = st.integers(-(10**30), 10**30) | st.decimals(allow_nan=False, allow_infinity=False, places=6).filter(
    lambda d: abs(d) < Decimal("1e30")
)
scalars = st.none() | st.booleans() | numbers | st.text(max_size=20) | st.binary(min_size=1, max_size=20)
sets = (
    st.frozensets(st.text(max_size=8), min_size=1, max_size=4)
    | st.frozensets(st.integers(-1000, 1000), min_size=1, max_size=4)
    | st.frozensets(st.binary(min_size=1, max_size=8), min_size=1, max_size=4)
)
values = st.recursive(
    scalars | sets,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _plain(value: Any) -> Any:
    """boto3's decoded value with its ``Binary`` wrappers as the bytes they hold."""
    if isinstance(value, Binary):
        return bytes(value)
    if isinstance(value, dict):
        return {key: _plain(member) for key, member in value.items()}
    if isinstance(value, list):
        return [_plain(member) for member in value]
    if isinstance(value, set):
        return {_plain(member) for member in value}
    return value


@given(values)
def test_values_encode_and_decode_as_boto3_does(value: Any) -> None:
    encoded = serialize(value)
    assert encoded == TypeSerializer().serialize(value)
    assert deserialize(encoded) == _plain(TypeDeserializer().deserialize(encoded))


@pytest.mark.parametrize("value", [1.5, Decimal("NaN"), Decimal("Infinity"), {1, "a"}, object()])
def test_what_boto3_refuses_is_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        TypeSerializer().serialize(value)
    with pytest.raises(TypeError):
        serialize(value)


def test_numbers_beyond_38_digits_are_refused() -> None:
    with pytest.raises((Inexact, Rounded)):
        serialize(Decimal("1." + "1" * 40))
