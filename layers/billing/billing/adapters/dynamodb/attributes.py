"""DynamoDB attribute values (``{"S": "x"}``, ``{"N": "1.5"}``...) to and from Python values.

The rules of boto3's ``TypeSerializer``/``TypeDeserializer`` (numbers are ``int`` or
``Decimal`` within DynamoDB's 38 digits, never ``float``; sets of one kind; mappings and
sequences nest), written here so that the API function does not import boto3, whose package
loads ``s3transfer`` and the resource layer at cold start; botocore is all it needs. One
difference: a binary value decodes to ``bytes``, not boto3's ``Binary`` wrapper.
``tests/unit/test_dynamodb_attributes.py`` holds both codecs equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

DYNAMODB_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])


def _number(value: int | Decimal) -> str:
    number = str(DYNAMODB_CONTEXT.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def _is_number(value: object) -> bool:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, int | Decimal)


def serialize(value: Any) -> dict[str, Any]:
    """The attribute value of ``value``."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": value}
    if isinstance(value, Set):
        if all(_is_number(member) for member in value):
            return {"NS": [_number(member) for member in value]}
        if all(isinstance(member, str) for member in value):
            return {"SS": list(value)}
        if all(isinstance(member, bytes | bytearray) for member in value):
            return {"BS": list(value)}
    if isinstance(value, Mapping):
        return {"M": {key: serialize(member) for key, member in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(member) for member in value]}
    raise TypeError(f"Unsupported type {type(value)} for value {value}")


def deserialize(value: Mapping[str, Any]) -> Any:
    """The Python value of an attribute value."""
    if not value:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, data = next(iter(value.items()))
    match kind:
        case "NULL":
            return None
        case "BOOL" | "S":
            return data
        case "N":
            return DYNAMODB_CONTEXT.create_decimal(data)
        case "B":
            return bytes(data)
        case "NS":
            return {DYNAMODB_CONTEXT.create_decimal(member) for member in data}
        case "SS":
            return set(data)
        case "BS":
            return {bytes(member) for member in data}
        case "M":
            return {key: deserialize(member) for key, member in data.items()}
        case "L":
            return [deserialize(member) for member in data]
    raise TypeError(f"Dynamodb type {kind} is not supported")
