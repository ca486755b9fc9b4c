"""Field types shared by customer input models, each with the rule it enforces."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from billing.currency import is_currency
from billing.notifications.model import Channel

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+[1-9][0-9]{1,14}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    return value


def _phone(value: str) -> str:
    if not _PHONE.match(value):
        raise ValueError("phone numbers must be in E.164 format, e.g. +14155550123")
    return value


def _currency(value: str) -> str:
    if not is_currency(value):
        raise ValueError("not an ISO 4217 currency code (upper case, e.g. USD)")
    return value


def _country(value: str) -> str:
    if not _COUNTRY.match(value):
        raise ValueError("countries are ISO 3166-1 alpha-2 codes in upper case, e.g. DE")
    return value


def _metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > 50:
        raise ValueError("at most 50 keys")
    for key, item in value.items():
        if not 1 <= len(key) <= 40:
            raise ValueError(f"key '{key[:40]}' must be 1 to 40 characters")
        if len(item) > 500:
            raise ValueError(f"value of '{key}' must be at most 500 characters")
    return value


Text = Annotated[str, Field(min_length=1, max_length=200)]
ExternalId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\s#]+$")]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Phone = Annotated[str, AfterValidator(_phone)]
Currency = Annotated[str, AfterValidator(_currency)]
Country = Annotated[str, AfterValidator(_country)]
Tag = Annotated[str, Field(min_length=1, max_length=64)]
Tags = Annotated[list[Tag], Field(max_length=50)]
Metadata = Annotated[dict[str, str], AfterValidator(_metadata)]
TaxRateIds = Annotated[list[Annotated[str, Field(pattern=r"^txr_[0-9a-z]{26}$")]], Field(max_length=10)]


def _channels(value: list[Channel]) -> list[Channel]:
    if len(set(value)) != len(value):
        raise ValueError("list each channel once")
    return value


Channels = Annotated[list[Channel], Field(max_length=2), AfterValidator(_channels)]
"""How a customer gets notifications: ``email``, ``sms``, both, or none (opted out)."""
