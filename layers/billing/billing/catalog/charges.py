"""Usage charges: how a plan prices the usage of one meter.

A charge names its meter, a pricing model (``billing.pricing``) with that model's
parameters, optionally the supplier it is billed for and a name for invoices. On the wire
a charge is one flat object, ``{"meter", "model", "supplier", "invoice_display_name",
...the model's parameters}``; in the code its parameters are the model's typed ``Params``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from billing.catalog.fields import Code
from billing.pricing import MODELS, Params
from billing.validation import FieldError, Input

Model = Literal["flat", "per_unit", "graduated", "volume", "package", "percentage"]
FIELDS = frozenset({"meter", "model", "supplier", "invoice_display_name"})
"""A charge's own fields; every other key of a flat charge is a parameter of its model."""


class Charge(BaseModel):
    """A usage charge of a plan version (never changes: a new price is a new version)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    meter: str
    model: Model
    supplier: str | None = None
    invoice_display_name: str | None = None
    params: Params = Field(exclude=True)  # written flat beside the fields (``_flat``)

    @model_validator(mode="before")
    @classmethod
    def _parse_flat(cls, data: Any) -> Any:
        """A flat charge, with its parameters parsed by its model. Prices are read as stored
        (a price saved under an older, looser rule still rates); ``ChargeInput`` checks new
        ones strictly."""
        if not isinstance(data, dict) or isinstance(data.get("params"), Params):
            return data
        fields = {name: value for name, value in data.items() if name in FIELDS}
        rest = {name: value for name, value in data.items() if name not in FIELDS}
        model = MODELS.get(str(data.get("model")))
        if model is not None:
            fields["params"] = model.params.model_validate(rest, context={"stored": True})
        return fields

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> dict[str, Any]:
        fields: dict[str, Any] = handler(self)
        return {**fields, **self.params.model_dump(mode=info.mode)}


class ChargeInput(Input):
    """A charge as a request gives it: ``{"meter": code, "model": name, ...that model's
    parameters}``, each problem reported at its field."""

    model_config = ConfigDict(extra="allow")

    meter: Code
    model: Model
    supplier: Code | None = None
    invoice_display_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _params_fit_the_model(self) -> ChargeInput:
        self._params()
        return self

    def _params(self) -> Params:
        try:
            return MODELS[self.model].params.model_validate(self.model_extra or {})
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

    def charge(self) -> Charge:
        """The charge as a plan keeps it, with its model's normalised parameters."""
        return Charge(
            meter=self.meter,
            model=self.model,
            supplier=self.supplier,
            invoice_display_name=self.invoice_display_name,
            params=self._params(),
        )


Charges = Annotated[list[ChargeInput], Field(max_length=50)]
