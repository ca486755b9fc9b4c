"""A posted form read through the API's own input model, so the portal refuses what the API
refuses, with the same words; a refusal is kept by field, for the page to show next to it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from billing.errors import BillingError
from billing.validation import Input, parse


@dataclass(frozen=True)
class FormErrors:
    """What a form's post was refused for: ``by_field`` (the API's ``param``, e.g. ``reading``)
    -> its message; ``general`` for a refusal that names no field of the form."""

    by_field: dict[str, str] = field(default_factory=dict)
    general: str | None = None
    status: int = 400

    def __bool__(self) -> bool:
        return bool(self.by_field) or self.general is not None


class Refused(Exception):
    """A form's post refused; the page is shown again with ``errors`` and what was typed."""

    def __init__(self, errors: FormErrors, typed: dict[str, str]):
        super().__init__(errors.general or next(iter(errors.by_field.values()), ""))
        self.errors, self.typed = errors, typed


def errors_of(refused: BillingError, fields: frozenset[str]) -> FormErrors:
    """A domain refusal by field: its ``param`` where the form has that field, else general."""
    status = refused.status or {"invalid_request_error": 400, "domain_error": 422}.get(refused.type, 409)
    param = (refused.param or "").split(".")[0].split("[")[0]
    if param in fields:
        return FormErrors({param: refused.message}, status=status)
    return FormErrors(general=refused.message, status=status)


def read[T, Model: Input](model: type[Model], body: dict[str, Any], typed: dict[str, str], fields: frozenset[str],
            then: Callable[[Model], T]) -> T:  # fmt: skip
    """``then(model parsed from body)``; any refusal, of the model's rules or of ``then``'s, as
    ``Refused`` with ``typed`` (the form as posted) to show again."""
    try:
        return then(parse(model, body))
    except BillingError as refused:
        raise Refused(errors_of(refused, fields), typed) from None
