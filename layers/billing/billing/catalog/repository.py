"""The catalog's storage port: typed catalog objects in, typed catalog objects out.

How an object is kept (its item shape) is the adapter's business, not its public JSON.
"""

from __future__ import annotations

from typing import Protocol

from billing.catalog.resource import Entity, Kind
from billing.events import DomainEvent
from billing.pagination import Page
from billing.scope import Scope


class CatalogRepository(Protocol):
    def create[E: Entity](self, scope: Scope, kind: Kind[E], entity: E, event: DomainEvent) -> None:
        """Store a new object; ``Conflict`` if its code is taken."""

    def get[E: Entity](self, scope: Scope, kind: Kind[E], object_id: str) -> E | None: ...

    def by_code[E: Entity](self, scope: Scope, kind: Kind[E], code: str) -> E | None: ...

    def list[E: Entity](self, scope: Scope, kind: Kind[E], limit: int, starting_after: str | None) -> Page[E]: ...

    def replace[E: Entity](self, scope: Scope, kind: Kind[E], entity: E, revision: int, event: DomainEvent) -> None:
        """Overwrite the object stored at ``revision``; ``Conflict`` on a race."""

    def supersede[E: Entity](
        self, scope: Scope, kind: Kind[E], new: E, old: E, revision: int, event: DomainEvent
    ) -> None:
        """Store ``new`` as the code's current version and ``old`` (at ``revision``) as superseded."""
