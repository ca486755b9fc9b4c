"""Turn request bodies into validated models, or a 400 that names the field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from billing.errors import InvalidRequest

M = TypeVar("M", bound=BaseModel)


class Input(BaseModel):
    """Base of request models: unknown fields are errors, strings are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


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
        first = exc.errors(include_url=False)[0]
        param = field_path(tuple(first["loc"]))
        kind = first["type"]
        if kind == "extra_forbidden":
            raise InvalidRequest(f"Unknown field: {param}.", code="parameter_unknown", param=param) from None
        if kind == "missing":
            raise InvalidRequest(f"Missing required field: {param}.", code="parameter_missing", param=param) from None
        message = first["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        raise InvalidRequest(f"Invalid {param}: {message}.", param=param) from None
