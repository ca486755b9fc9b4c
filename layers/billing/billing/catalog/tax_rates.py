"""Tax rates. A rate with a ``country`` (and optionally ``region``) applies automatically
to customers with that address; customers may also name rates explicitly or be tax-exempt.
``percent`` and ``inclusive`` never change, as invoices already issued used them:
deactivate the rate and create a new one."""

from __future__ import annotations

from pydantic import model_validator

from billing.catalog.fields import Description, Name, Percent
from billing.catalog.resource import CatalogInput, Entity, Kind
from billing.customers.fields import Country, Text
from billing.validation import FieldError


class TaxRateCreate(CatalogInput):
    name: Name
    description: Description | None = None
    percent: Percent
    inclusive: bool = False
    country: Country | None = None
    region: Text | None = None
    active: bool = True

    @model_validator(mode="after")
    def _region_needs_country(self) -> TaxRateCreate:
        if self.region is not None and self.country is None:
            raise FieldError(("country",), "required when region is given", "parameter_missing")
        return self


class TaxRateUpdate(CatalogInput):
    name: Name | None = None
    description: Description | None = None
    active: bool | None = None


class TaxRate(Entity):
    name: str
    description: str | None
    percent: str
    inclusive: bool
    country: str | None
    region: str | None
    active: bool


KIND = Kind(
    name="tax_rate",
    id_prefix="txr",
    event="TaxRate",
    create=TaxRateCreate,
    update=TaxRateUpdate,
    entity=TaxRate,
    has_code=False,
)
