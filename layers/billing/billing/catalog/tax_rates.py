"""Tax rates. A rate with a ``country`` (and optionally ``region``) applies automatically
to customers with that address; customers may also name rates explicitly or be tax-exempt.
``percent`` and ``inclusive`` never change, as invoices already issued used them:
deactivate the rate and create a new one."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

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


class AppliedTaxRate(BaseModel):
    """A tax rate as an invoice applies it, kept on the invoice (``tax_rates``) so that
    rating it again uses the same rate, whatever becomes of the catalog's."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: str
    name: str
    percent: str
    inclusive: bool


class TaxRate(Entity):
    name: str
    description: str | None
    percent: str
    inclusive: bool
    country: str | None
    region: str | None
    active: bool

    def applied(self) -> AppliedTaxRate:
        return AppliedTaxRate(id=self.id, name=self.name, percent=self.percent, inclusive=self.inclusive)


KIND = Kind(
    name="tax_rate",
    id_prefix="txr",
    event="TaxRate",
    create=TaxRateCreate,
    update=TaxRateUpdate,
    entity=TaxRate,
    has_code=False,
)
