"""Storage shapes: how the adapters write a domain object inside an item, name by name.

A ``Shape`` maps each stored name to the model field it holds. Stored names are the
storage's own (short: they are repeated in every item and line), so renaming a field of the
API's JSON changes one entry of a shape, never the data. Bodies that are read whole (an
invoice with its lines) are stored as zlib-compressed JSON in one binary attribute
(``pack``/``unpack``): DynamoDB bills every kilobyte written, and what list queries filter on
lives in plain attributes beside it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

LEVEL = 9


@dataclass(frozen=True)
class Shape[M: BaseModel]:
    """``names``: stored name -> field of ``model``; ``nested``: field -> the shape of the
    model (or of each model of the list) it holds. Fields not named are not stored."""

    model: type[M]
    names: Mapping[str, str]
    nested: Mapping[str, Shape[Any]] = field(default_factory=dict)

    def dump(self, obj: M) -> dict[str, Any]:
        """The stored names and values; a field at its default (None, 0, an empty list ...) is
        left out and read back as that default, so a field added to a model costs nothing in
        the items that do not use it."""
        stored: dict[str, Any] = {}
        fields = type(obj).model_fields
        for name, attribute in self.names.items():
            value = getattr(obj, attribute)
            if value is None or value == fields[attribute].get_default(call_default_factory=True):
                continue
            inner = self.nested.get(attribute)
            if inner is not None:
                value = [inner.dump(v) for v in value] if isinstance(value, list) else inner.dump(value)
            elif isinstance(value, BaseModel):
                value = value.model_dump(mode="json")
            stored[name] = value
        return stored

    def load(self, stored: Mapping[str, Any], **extra: Any) -> M:
        values: dict[str, Any] = {}
        for name, attribute in self.names.items():
            if name not in stored:
                continue
            value, inner = stored[name], self.nested.get(attribute)
            if inner is not None:
                value = [inner.load(v) for v in value] if isinstance(value, list) else inner.load(value)
            values[attribute] = value
        return self.model.model_validate({**values, **extra})


def pack(body: Mapping[str, Any]) -> bytes:
    return zlib.compress(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(), LEVEL)


def unpack(blob: Any) -> dict[str, Any]:
    """The body ``pack`` stored (a ``Binary`` as boto3 decodes it, or bytes)."""
    body: dict[str, Any] = json.loads(zlib.decompress(bytes(blob)))
    return body


def known(model: type[BaseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` without the keys ``model`` no longer has: items written in an older shape are
    read leniently, whatever fields the API dropped since."""
    return {key: value for key, value in data.items() if key in model.model_fields}
