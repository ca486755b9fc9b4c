"""Catalog objects of every kind in the billing table.

- object:     ``PK={scope}#{KIND}#{id}``, ``SK={KIND}``; GSI1 ``{scope}#{KIND}`` / id lists a
  kind newest first. The public shape is kept whole as JSON in ``data``.
- code guard: ``PK={scope}#{KIND}#CODE#{code}``, ``SK=CODE`` -> the id of the current object
  with that code; its condition keeps codes unique, and a new plan version takes it over.
"""

from __future__ import annotations

import json
from typing import Any

from billing.adapters.dynamodb import outbox, table
from billing.catalog.resource import Kind
from billing.errors import Conflict
from billing.events import DomainEvent
from billing.pagination import Page
from billing.scope import Scope

Item = dict[str, Any]
_NEW = "attribute_not_exists(PK)"
COUNTERS = ("times_redeemed",)  # kept as number attributes so they can be incremented in place


def _prefix(scope: Scope, kind: Kind) -> str:
    return f"{scope.key}#{kind.name.upper()}"


def _key(scope: Scope, kind: Kind, object_id: str) -> dict[str, str]:
    return {"PK": f"{_prefix(scope, kind)}#{object_id}", "SK": kind.name.upper()}


def _code_key(scope: Scope, kind: Kind, code: str) -> dict[str, str]:
    return {"PK": f"{_prefix(scope, kind)}#CODE#{code}", "SK": "CODE"}


def _to_item(scope: Scope, kind: Kind, item: Item) -> Item:
    public = {name: value for name, value in item.items() if name != "revision" and name not in COUNTERS}
    return {
        **{name: item[name] for name in COUNTERS if name in item},
        **_key(scope, kind, item["id"]),
        "GSI1PK": _prefix(scope, kind),
        "GSI1SK": item["id"],
        "entity": kind.name,
        "code": item.get("code"),
        "revision": item["revision"],
        "data": json.dumps(public, separators=(",", ":")),
    }


def _from_item(stored: Item) -> Item:
    counters = {name: int(stored[name]) for name in COUNTERS if name in stored}
    return {**json.loads(stored["data"]), **counters, "revision": int(stored["revision"])}


def _code_taken(kind: Kind, code: str) -> Conflict:
    return Conflict(f"A {kind.name} with code '{code}' already exists.", code="code_taken", param="code")


def redeem(scope: Scope, kind: Kind, object_id: str, limit: int | None) -> dict[str, Any]:
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
    def create(self, scope: Scope, kind: Kind, item: Item, event: DomainEvent) -> None:
        operations = [table.put(_to_item(scope, kind, item), _NEW), outbox.put_event(event)]
        conflicts = {}
        if kind.has_code:
            conflicts[len(operations)] = _code_taken(kind, item["code"])
            guard = {**_code_key(scope, kind, item["code"]), "entity": f"{kind.name}_code", "id": item["id"]}
            operations.append(table.put(guard, _NEW))
        table.transact(operations, conflicts)

    def get(self, scope: Scope, kind: Kind, object_id: str) -> Item | None:
        stored = table.get(_key(scope, kind, object_id))
        return _from_item(stored) if stored else None

    def by_code(self, scope: Scope, kind: Kind, code: str) -> Item | None:
        guard = table.get(_code_key(scope, kind, code))
        return self.get(scope, kind, guard["id"]) if guard else None

    def list(self, scope: Scope, kind: Kind, limit: int, starting_after: str | None) -> Page[Item]:
        start = None
        if starting_after:
            start = {**_key(scope, kind, starting_after), "GSI1PK": _prefix(scope, kind), "GSI1SK": starting_after}
        items, cursor = table.query_pages("GSI1", "GSI1PK", _prefix(scope, kind), start, limit)
        return Page(data=[_from_item(item) for item in items], has_more=cursor is not None, next_starting_after=cursor)

    def replace(self, scope: Scope, kind: Kind, item: Item, revision: int, event: DomainEvent) -> None:
        operations = [
            table.put(_to_item(scope, kind, item), "revision = :r", {":r": revision}),
            outbox.put_event(event),
        ]
        table.transact(operations, {})

    def supersede(self, scope: Scope, kind: Kind, new: Item, old: Item, revision: int, event: DomainEvent) -> None:
        guard = {**_code_key(scope, kind, new["code"]), "entity": f"{kind.name}_code", "id": new["id"]}
        operations = [
            table.put(_to_item(scope, kind, new), _NEW),
            table.put(_to_item(scope, kind, old), "revision = :r", {":r": revision}),
            table.put(guard, "id = :old", {":old": old["id"]}),
            outbox.put_event(event),
        ]
        table.transact(operations, {})
