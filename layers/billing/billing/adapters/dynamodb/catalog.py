"""Catalog objects of every kind in the billing table.

- object:     ``PK={scope}#{KIND}#{id}``, ``SK={KIND}``; GSI1 ``{scope}#{KIND}`` / id lists a
  kind newest first. ``data`` holds the object's fields as JSON, in the shape
  ``catalog_items`` gives each kind (not the public JSON).
- code guard: ``PK={scope}#{KIND}#CODE#{code}``, ``SK=CODE`` -> the id of the current object
  with that code; its condition keeps codes unique, and a new plan version takes it over.
"""

from __future__ import annotations

import json
from typing import Any

from billing.adapters.dynamodb import outbox, table
from billing.adapters.dynamodb.catalog_items import fields, stored
from billing.catalog.resource import Entity, Kind
from billing.errors import Conflict
from billing.events import DomainEvent
from billing.pagination import Page
from billing.scope import Scope

Item = dict[str, Any]
_NEW = "attribute_not_exists(PK)"
COUNTERS = ("times_redeemed",)  # kept as number attributes so they can be incremented in place


def _prefix(scope: Scope, kind: Kind[Entity]) -> str:
    return f"{scope.key}#{kind.name.upper()}"


def _key(scope: Scope, kind: Kind[Entity], object_id: str) -> dict[str, str]:
    return {"PK": f"{_prefix(scope, kind)}#{object_id}", "SK": kind.name.upper()}


def _code_key(scope: Scope, kind: Kind[Entity], code: str) -> dict[str, str]:
    return {"PK": f"{_prefix(scope, kind)}#CODE#{code}", "SK": "CODE"}


def to_item(scope: Scope, kind: Kind[Entity], entity: Entity) -> Item:
    data = stored(entity)
    return {
        **{name: getattr(entity, name) for name in COUNTERS if hasattr(entity, name)},
        **_key(scope, kind, entity.id),
        "GSI1PK": _prefix(scope, kind),
        "GSI1SK": entity.id,
        "entity": kind.name,
        "code": data.get("code"),
        "revision": entity.revision,
        "data": json.dumps(data, separators=(",", ":")),
    }


def from_item[E: Entity](scope: Scope, kind: Kind[E], item: Item) -> E:
    """The object an item holds; also items stored in the older shape (``catalog_items``)."""
    counters = {name: int(item[name]) for name in COUNTERS if name in item}
    return kind.entity.model_validate(
        {
            **fields(kind.name, json.loads(item["data"])),
            **counters,
            "id": item["GSI1SK"],
            "object": kind.name,
            "livemode": scope.livemode,
            "revision": int(item["revision"]),
        }
    )


def _code_taken(kind: Kind[Entity], code: str) -> Conflict:
    return Conflict(f"A {kind.name} with code '{code}' already exists.", code="code_taken", param="code")


def redeem(scope: Scope, kind: Kind[Entity], object_id: str, limit: int | None) -> dict[str, Any]:
    """The transaction operation that counts one more redemption of a coupon, within its limit."""
    condition = "attribute_exists(PK)" + ("" if limit is None else " AND times_redeemed < :limit")
    values: Item = {":one": 1} | ({} if limit is None else {":limit": limit})
    return {
        "Update": {
            "TableName": table.table_name(),
            "Key": table.encode(_key(scope, kind, object_id)),
            "UpdateExpression": "ADD times_redeemed :one, revision :one",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": table.encode(values),
        }
    }


class DynamoCatalogRepository:
    def create[E: Entity](self, scope: Scope, kind: Kind[E], entity: E, event: DomainEvent) -> None:
        item = to_item(scope, kind, entity)
        operations = [table.put(item, _NEW), *outbox.put_events([event])]
        conflicts = {}
        if kind.has_code:
            conflicts[len(operations)] = _code_taken(kind, item["code"])
            guard = {**_code_key(scope, kind, item["code"]), "entity": f"{kind.name}_code", "id": entity.id}
            operations.append(table.put(guard, _NEW))
        table.transact(operations, conflicts)

    def get[E: Entity](self, scope: Scope, kind: Kind[E], object_id: str) -> E | None:
        item = table.get(_key(scope, kind, object_id))
        return from_item(scope, kind, item) if item else None

    def by_code[E: Entity](self, scope: Scope, kind: Kind[E], code: str) -> E | None:
        guard = table.get(_code_key(scope, kind, code))
        return self.get(scope, kind, guard["id"]) if guard else None

    def list[E: Entity](self, scope: Scope, kind: Kind[E], limit: int, starting_after: str | None) -> Page[E]:
        start = None
        if starting_after:
            start = {**_key(scope, kind, starting_after), "GSI1PK": _prefix(scope, kind), "GSI1SK": starting_after}
        items, cursor = table.query_pages("GSI1", "GSI1PK", _prefix(scope, kind), start, limit)
        found = [from_item(scope, kind, item) for item in items]
        return Page.of(found, cursor)

    def replace[E: Entity](self, scope: Scope, kind: Kind[E], entity: E, revision: int, event: DomainEvent) -> None:
        operations = [
            table.put(to_item(scope, kind, entity), "revision = :r", {":r": revision}),
            *outbox.put_events([event]),
        ]
        table.transact(operations, {})

    def supersede[E: Entity](
        self, scope: Scope, kind: Kind[E], new: E, old: E, revision: int, event: DomainEvent
    ) -> None:
        item = to_item(scope, kind, new)
        guard = {**_code_key(scope, kind, item["code"]), "entity": f"{kind.name}_code", "id": new.id}
        operations = [
            table.put(item, _NEW),
            table.put(to_item(scope, kind, old), "revision = :r", {":r": revision}),
            table.put(guard, "id = :old", {":old": old.id}),
            *outbox.put_events([event]),
        ]
        table.transact(operations, {})
