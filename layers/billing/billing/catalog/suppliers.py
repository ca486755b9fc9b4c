"""Suppliers: parties on whose behalf charges are billed (a utility's heating, water,
gas and waste providers). Charges and add-ons name a supplier by code; balances and
payment splits are kept per supplier."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from billing.catalog.fields import Code, Name
from billing.catalog.resource import CatalogInput, Entity, Kind
from billing.customers.fields import Email, Metadata, Phone, Text
from billing.customers.model import Address
from billing.validation import Input

Account = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9 \-]+$")]


class BankDetails(Input):
    account_holder: Text | None = None
    bank_name: Text | None = None
    iban: Annotated[str, Field(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")] | None = None
    bic: Annotated[str, Field(pattern=r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")] | None = None
    account_number: Account | None = None
    routing_number: Account | None = None


class SupplierUpdate(CatalogInput):
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None
    tax_id: Text | None = None
    bank_details: BankDetails | None = None
    metadata: Metadata | None = None


class SupplierCreate(SupplierUpdate):
    code: Code
    name: Name
    metadata: Metadata = {}


class Supplier(Entity):
    code: str
    name: str
    email: str | None
    phone: str | None
    address: dict[str, str] | None
    tax_id: str | None
    bank_details: dict[str, str] | None
    metadata: dict[str, str]


KIND = Kind(
    name="supplier", id_prefix="sup", event="Supplier", create=SupplierCreate, update=SupplierUpdate, entity=Supplier
)
