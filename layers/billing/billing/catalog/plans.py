"""Plans (tariffs) and their charges.

A plan's prices never change under existing subscriptions: changing
``base_fee``, ``trial_days`` or ``charges`` creates a new version of the plan
(a new id, the same code, ``version`` + 1) and marks the old one superseded.
Subscriptions stay on their version until migrated with advance notice.
Names and descriptions are edited in place.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from billing.catalog.fields import Code, Description, Interval, IntervalCount, Name
from billing.catalog.resource import CatalogInput, Entity, Kind
from billing.customers.fields import Currency
from billing.pricing import MODELS
from billing.pricing.common import MinorAmount
from billing.validation import FieldError, Input

PRICE_FIELDS = ("base_fee", "trial_days", "charges")
Model = Literal["flat", "per_unit", "graduated", "volume", "package", "percentage"]
TrialDays = Annotated[int, Field(ge=0, le=730)]


class ChargeInput(Input):
    """``{"meter": code, "model": name, ...that model's parameters}``."""

    model_config = ConfigDict(extra="allow")

    meter: Code
    model: Model
    supplier: Code | None = None
    invoice_display_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _params_fit_the_model(self) -> ChargeInput:
        try:
            MODELS[self.model].params.model_validate(self.model_extra or {})
        except PydanticValidationError as exc:
            first = exc.errors(include_url=False)[0]
            cause = (first.get("ctx") or {}).get("error")
            if isinstance(cause, FieldError):
                raise FieldError(tuple(first["loc"]) + cause.loc, cause.message, cause.code) from None
            code = {"extra_forbidden": "parameter_unknown", "missing": "parameter_missing"}.get(
                first["type"], "parameter_invalid"
            )
            message = first["msg"].removeprefix("Value error, ")
            if code == "parameter_unknown":
                message = f"not a parameter of the {self.model} model"
            raise FieldError(tuple(first["loc"]), message, code) from None
        return self

    def stored(self) -> dict[str, Any]:
        """The charge as kept on the plan: its fields and its model's normalised parameters."""
        params = MODELS[self.model].params.model_validate(self.model_extra or {}).model_dump(mode="json")
        fields = {
            "meter": self.meter,
            "model": self.model,
            "supplier": self.supplier,
            "invoice_display_name": self.invoice_display_name,
        }
        return {**fields, **params}


Charges = Annotated[list[ChargeInput], Field(max_length=50)]


class PlanUpdate(CatalogInput):
    name: Name | None = None
    description: Description | None = None
    base_fee: MinorAmount | None = None
    trial_days: TrialDays | None = None
    charges: Charges | None = None

    def fields(self, only_sent: bool = False) -> dict[str, Any]:
        values = super().fields(only_sent)
        if self.charges is not None:
            values["charges"] = [charge.stored() for charge in self.charges]
        return values

    def references(self) -> list[tuple[str, str, str]]:
        found = []
        for i, charge in enumerate(self.charges or []):
            found.append(("meter", charge.meter, f"charges[{i}].meter"))
            if charge.supplier:
                found.append(("supplier", charge.supplier, f"charges[{i}].supplier"))
        return found


class PlanCreate(PlanUpdate):
    code: Code
    name: Name
    currency: Currency
    interval: Interval
    interval_count: IntervalCount = 1
    base_fee: MinorAmount = 0
    trial_days: TrialDays = 0
    charges: Charges = []


class Plan(Entity):
    code: str
    version: int
    name: str
    description: str | None
    currency: str
    interval: Interval
    interval_count: int
    base_fee: int
    trial_days: int
    charges: list[dict[str, Any]]
    status: Literal["active", "superseded"] = "active"
    previous_version: str | None = None
    superseded_by: str | None = None


KIND = Kind(
    name="plan",
    id_prefix="plan",
    event="Plan",
    create=PlanCreate,
    update=PlanUpdate,
    entity=Plan,
    versioned=PRICE_FIELDS,
)
