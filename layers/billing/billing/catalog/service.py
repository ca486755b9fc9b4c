"""Catalog use cases, the same for every kind: create, get, list, update.

Codes are unique per tenant and kind. References (a plan's meters and
suppliers, a coupon's plans) must exist when saved: an unknown one is a 400
naming the field. Updating a versioned field (a plan's prices) creates a new
version that takes over the code; only the current version can be changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from billing.catalog.kinds import KINDS
from billing.catalog.repository import CatalogRepository
from billing.catalog.resource import CatalogInput, Entity, Kind, require_current
from billing.clock import Clock, SystemClock, to_wire
from billing.errors import InvalidRequest, NotFound
from billing.events import DomainEvent
from billing.ids import is_id, new_id
from billing.pagination import Page, PageRequest, page_request
from billing.scope import Scope
from billing.validation import parse


@dataclass(frozen=True)
class CatalogQuery:
    """A catalog list: one page, or the current object with ``code``."""

    code: str | None = None
    page: PageRequest = field(default_factory=PageRequest)

    @classmethod
    def from_params(cls, kind_name: str, params: Mapping[str, str]) -> CatalogQuery:
        """A list's query string (``limit``, ``starting_after``, ``code``); a 400 naming a bad one."""
        return cls(page=page_request(params, KINDS[kind_name].id_prefix), code=params.get("code"))


def create_request(kind_name: str, body: Any) -> CatalogInput:
    """A body that creates an object of ``kind_name``, parsed (a 400 naming the field)."""
    return parse(KINDS[kind_name].create, body)


def update_request(kind_name: str, body: Any) -> CatalogInput:
    """A body that changes an object of ``kind_name``, parsed (a 400 naming the field)."""
    return parse(KINDS[kind_name].update, body)


class CatalogService:
    def __init__(self, repo: CatalogRepository, clock: Clock | None = None):
        self._repo = repo
        self._clock = clock or SystemClock()

    def create(self, scope: Scope, kind_name: str, data: CatalogInput) -> Entity:
        kind = KINDS[kind_name]
        self._require_references(scope, data.references())
        now = self._clock.now()
        item = {
            **data.fields(),
            "id": new_id(kind.id_prefix, int(now.timestamp() * 1000)),
            "object": kind.name,
            "livemode": scope.livemode,
            "created_at": to_wire(now),
        }
        if kind.versioned:
            item["version"] = 1
        entity = kind.entity.model_validate(item)
        self._repo.create(scope, kind, entity, self._event(kind, "Created", scope, entity))
        return entity

    def get(self, scope: Scope, kind_name: str, object_id: str) -> Entity:
        found = self.find_by_id(scope, kind_name, object_id)
        if found is None:
            raise NotFound(f"No such {kind_name}: '{object_id}'", param="id")
        return found

    def find_by_id(self, scope: Scope, kind_name: str, object_id: str) -> Entity | None:
        if not is_id(object_id, KINDS[kind_name].id_prefix):
            return None
        return self._repo.get(scope, KINDS[kind_name], object_id)

    def find(self, scope: Scope, kind_name: str, code: str) -> Entity | None:
        """The current object with ``code``, or None."""
        return self._repo.by_code(scope, KINDS[kind_name], code)

    def list(self, scope: Scope, kind_name: str, query: CatalogQuery) -> Page[Entity]:
        kind = KINDS[kind_name]
        if query.code is not None:
            found = self.find(scope, kind_name, query.code)
            return Page(data=[found] if found else [], has_more=False)
        return self._repo.list(scope, kind, query.page.limit, query.page.starting_after)

    def update(self, scope: Scope, kind_name: str, object_id: str, data: CatalogInput) -> Entity:
        kind = KINDS[kind_name]
        current = self.get(scope, kind_name, object_id)
        require_current(current)
        changes = data.fields(only_sent=True)
        for name, value in changes.items():
            if value is None and not _nullable(kind, name):
                raise InvalidRequest(f"{name} cannot be null.", param=name)
        self._require_references(scope, data.references())
        stored = current.model_dump(mode="json")
        if all(stored.get(name) == value for name, value in changes.items()):
            return current
        if set(changes) & set(kind.versioned):
            return self._new_version(scope, kind, current, changes)
        updated = kind.entity.model_validate({**stored, **changes, "revision": current.revision + 1})
        previous = {name: stored.get(name) for name in changes}
        event = self._event(kind, "Updated", scope, updated, previous_attributes=previous)
        self._repo.replace(scope, kind, updated, current.revision, event)
        return updated

    def _new_version(self, scope: Scope, kind: Kind[Entity], current: Entity, changes: dict[str, Any]) -> Entity:
        now = self._clock.now()
        stored = current.model_dump(mode="json")
        new = kind.entity.model_validate(
            {
                **stored,
                **changes,
                "id": new_id(kind.id_prefix, int(now.timestamp() * 1000)),
                "created_at": to_wire(now),
                "version": stored["version"] + 1,
                "previous_version": current.id,
            }
        )
        old = kind.entity.model_validate(
            {**stored, "status": "superseded", "superseded_by": new.id, "revision": current.revision + 1}
        )
        event = self._event(kind, "VersionCreated", scope, new, previous_version=current.id)
        self._repo.supersede(scope, kind, new, old, current.revision, event)
        return new

    def _require_references(self, scope: Scope, references: Sequence[tuple[str, str, str]]) -> None:
        for kind_name, code, param in references:
            if self._repo.by_code(scope, KINDS[kind_name], code) is None:
                raise InvalidRequest(f"No such {kind_name}: '{code}'.", code="resource_missing", param=param)

    def _event(self, kind: Kind[Entity], verb: str, scope: Scope, entity: Entity, **extra: Any) -> DomainEvent:
        data = {"object": entity.model_dump(mode="json"), **extra}
        return DomainEvent(type=f"{kind.event}{verb}", scope=scope, occurred_at=self._clock.now(), data=data)


def _nullable(kind: Kind[Entity], name: str) -> bool:
    """A field may be cleared with null only where a new object may leave it empty."""
    field = kind.create.model_fields.get(name)
    return field is not None and not field.is_required() and field.default is None
