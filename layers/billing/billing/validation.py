"""Turn request bodies into validated models, or a 400 that names the field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from billing.clock import to_wire
from billing.errors import InvalidRequest
from billing.ids import is_id

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class FieldError(ValueError):
    """Raised by a model validator about one field: ``loc`` is the path below the model."""

    def __init__(self, loc: tuple[int | str, ...], message: str, code: str = "parameter_invalid"):
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.code = code


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # periods and notices far beyond any contract still compute


def _timestamp(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 timestamp, e.g. 2026-01-31T00:00:00Z") from None
    if moment.tzinfo is None:
        raise ValueError("must carry a time zone, e.g. a trailing Z for UTC")
    if not EARLIEST <= moment <= LATEST:
        raise ValueError(f"must lie between {to_wire(EARLIEST)} and {to_wire(LATEST)}")
    return to_wire(moment)


Timestamp = Annotated[str, Field(max_length=40), AfterValidator(_timestamp)]
"""An ISO 8601 instant with a zone, normalised to UTC ``YYYY-MM-DDTHH:MM:SSZ``."""


def timestamp_param(value: str, name: str) -> str:
    """A query parameter holding a ``Timestamp``, normalised; a 400 naming it otherwise."""
    try:
        return _timestamp(value[:40])
    except ValueError as exc:
        raise InvalidRequest(f"Invalid {name}: {exc}.", param=name) from None


def choice_param(params: Mapping[str, str], name: str, choices: tuple[T, ...]) -> T | None:
    """A query parameter that is one of ``choices`` (a ``Literal``'s ``get_args``), or None when
    absent; a 400 naming it otherwise."""
    value = params.get(name)
    if value is not None and value not in choices:
        raise InvalidRequest(f"{name} must be one of {', '.join(map(str, choices))}.", param=name)
    return value


def id_param(params: Mapping[str, str], name: str, prefix: str) -> str | None:
    """A query parameter that is an id of ``prefix`` (``cus``), or None when absent; a 400 naming
    it otherwise."""
    value = params.get(name)
    if value is not None and not is_id(value, prefix):
        raise InvalidRequest(f"{name} must be an id starting with '{prefix}_'.", param=name)
    return value


class Input(BaseModel):
    """Base of request models: unknown fields are errors, strings are not coerced.
    Validators are built on first use, not at import, to keep cold starts short."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True, defer_build=True)


class NoBody(Input):
    """The body of an action that takes no parameters: empty, or an empty object."""


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("address", "country")`` -> ``address.country``; ``("tags", 2)`` -> ``tags[2]``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def parse(model: type[M], data: Any) -> M:
    """Validate ``data`` as ``model``; the first problem becomes an ``InvalidRequest``."""
    if not isinstance(data, dict):
        raise InvalidRequest("The request body must be a JSON object.", code="body_invalid")
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise invalid_request(exc) from None


def invalid_request(exc: PydanticValidationError, prefix: tuple[int | str, ...] = ()) -> InvalidRequest:
    """The first problem of a pydantic error as a 400 naming the field's full path."""
    first = exc.errors(include_url=False)[0]
    loc = prefix + tuple(first["loc"])
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        param = field_path(loc + cause.loc)
        return InvalidRequest(f"Invalid {param}: {cause.message}.", code=cause.code, param=param)
    param = field_path(loc)
    kind = first["type"]
    if kind == "extra_forbidden":
        return InvalidRequest(f"Unknown field: {param}.", code="parameter_unknown", param=param)
    if kind == "missing":
        return InvalidRequest(f"Missing required field: {param}.", code="parameter_missing", param=param)
    message = first["msg"].removeprefix("Value error, ")
    return InvalidRequest(f"Invalid {param}: {message}.", param=param)
