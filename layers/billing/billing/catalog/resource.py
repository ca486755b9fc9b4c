"""What every catalog resource shares: an entity shape and a kind descriptor.

A kind names its storage prefix, id prefix, event names and its input models;
``CatalogService`` does the rest once for all kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from billing.errors import DomainRuleViolation
from billing.validation import Input


class Entity(BaseModel):
    """A stored catalog object; ``model_dump(mode="json")`` is its public shape."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str
    object: str
    livemode: bool
    created_at: str
    revision: int = Field(default=1, exclude=True)  # optimistic lock, not public


class CatalogInput(Input):
    """Base of catalog request models."""

    def fields(self, only_sent: bool = False) -> dict[str, Any]:
        """The values to store (all, or only those the request sent); nested objects
        (addresses, bank details) keep only the keys that have a value."""
        values = self.model_dump(mode="json", exclude_unset=only_sent)
        for name in values:
            nested = getattr(self, name)
            if isinstance(nested, BaseModel):
                values[name] = nested.model_dump(mode="json", exclude_none=True)
        return values

    def references(self) -> list[tuple[str, str, str]]:
        """``(kind, code, param)`` of every other catalog object this input names."""
        return []


@dataclass(frozen=True)
class Kind[E: Entity]:
    name: str  # "tax_rate": the public ``object`` and the storage name
    id_prefix: str  # "txr"
    event: str  # "TaxRate": events are TaxRateCreated, TaxRateUpdated
    create: type[CatalogInput]
    update: type[CatalogInput]
    entity: type[E]
    has_code: bool = True
    versioned: tuple[str, ...] = ()  # changing these makes a new version instead of an edit


def require_current(entity: Entity, param: str | None = None) -> None:
    """Refuse a superseded version (only plans have versions): use the current one."""
    if getattr(entity, "status", None) == "superseded":
        successor = getattr(entity, "superseded_by", None)
        raise DomainRuleViolation(
            f"{entity.object} '{entity.id}' was superseded by '{successor}'; use the current version.",
            code=f"{entity.object}_superseded",
            param=param,
        )
