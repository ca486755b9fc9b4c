"""Meters (billable metrics): which usage events count and how they add up.

A meter's ``code`` is what usage events name. ``aggregation`` and ``field``
never change once created, as that would silently re-price usage already
billed; create a new meter instead.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from billing.catalog.fields import Code, Description, Name
from billing.catalog.resource import CatalogInput, Entity, Kind
from billing.validation import FieldError, Input

Aggregation = Literal["count", "sum", "max", "unique_count", "latest", "weighted_sum"]
Property = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]*$")]


class Rounding(Input):
    """Each event's value is rounded up to a multiple of ``increment``, and to at least
    ``minimum`` (``{"increment": 60, "minimum": 60}``: calls billed by started minute)."""

    increment: Annotated[int, Field(gt=0, le=10**9)]
    minimum: Annotated[int, Field(ge=0, le=10**9)] = 0


class MeterCreate(CatalogInput):
    code: Code
    name: Name
    description: Description | None = None
    aggregation: Aggregation
    field: Property | None = None
    rounding: Rounding | None = None
    group_by: Annotated[list[Property], Field(max_length=5)] = []

    @model_validator(mode="after")
    def _field_matches_aggregation(self) -> MeterCreate:
        if self.aggregation == "count" and self.field is not None:
            raise FieldError(("field",), "count meters count events and take no field")
        if self.aggregation != "count" and self.field is None:
            raise FieldError(("field",), f"required for aggregation '{self.aggregation}'", "parameter_missing")
        return self


class MeterUpdate(CatalogInput):
    name: Name | None = None
    description: Description | None = None


class Meter(Entity):
    code: str
    name: str
    description: str | None
    aggregation: Aggregation
    field: str | None
    rounding: dict[str, int] | None
    group_by: list[str]


KIND = Kind(name="meter", id_prefix="mtr", event="Meter", create=MeterCreate, update=MeterUpdate, entity=Meter)
