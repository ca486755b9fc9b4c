"""Add-ons: extras sold on top of a plan, one-off (``interval: null``) or recurring.

An add-on's price never changes under subscriptions that carry it: create a new
add-on for a new price.
"""

from __future__ import annotations

from billing.catalog.fields import Code, Description, Interval, IntervalCount, Name
from billing.catalog.resource import CatalogInput, Entity, Kind
from billing.customers.fields import Currency
from billing.pricing.common import MinorAmount


class AddOnCreate(CatalogInput):
    code: Code
    name: Name
    description: Description | None = None
    amount: MinorAmount
    currency: Currency
    interval: Interval | None = None
    interval_count: IntervalCount = 1
    supplier: Code | None = None
    invoice_display_name: Name | None = None

    def references(self) -> list[tuple[str, str, str]]:
        return [("supplier", self.supplier, "supplier")] if self.supplier else []


class AddOnUpdate(CatalogInput):
    name: Name | None = None
    description: Description | None = None
    invoice_display_name: Name | None = None


class AddOn(Entity):
    code: str
    name: str
    description: str | None
    amount: int
    currency: str
    interval: Interval | None
    interval_count: int
    supplier: str | None
    invoice_display_name: str | None


KIND = Kind(name="add_on", id_prefix="addon", event="AddOn", create=AddOnCreate, update=AddOnUpdate, entity=AddOn)
