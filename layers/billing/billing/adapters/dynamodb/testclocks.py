"""Test clocks in the billing table: ``PK={scope}#CLOCK#{id}``, ``SK=CLOCK``; their due work
is the due index partition ``{scope}#DUE#CLOCK#{id}`` (``due.py``).

Items have their own shape (``to_item``/``from_item``), not the API's JSON: renaming a field of
the API never rewrites what is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from billing.adapters.dynamodb import due, table
from billing.errors import Conflict
from billing.scope import Scope
from billing.testclocks import TestClock


def _key(scope: Scope, clock_id: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#CLOCK#{clock_id}", "SK": "CLOCK"}


def to_item(scope: Scope, clock: TestClock) -> dict[str, Any]:
    return {
        **_key(scope, clock.id),
        "entity": "test_clock",
        "id": clock.id,
        "name": clock.name,
        "frozen_time": clock.frozen_time,
        "created_at": clock.created_at,
        "revision": clock.revision,
    }


def from_item(item: dict[str, Any]) -> TestClock:
    """Clocks stored before they had an item shape of their own hold the API's JSON in ``data``:
    still read as they are."""
    if "data" in item:
        return TestClock.model_validate({**json.loads(item["data"]), "revision": int(item["revision"])})
    return TestClock(
        id=item["id"],
        name=item.get("name"),
        frozen_time=item["frozen_time"],
        created_at=item["created_at"],
        revision=int(item["revision"]),
    )


class DynamoTestClockStore:
    def create(self, scope: Scope, clock: TestClock) -> None:
        with table.condition_as(Conflict(f"Test clock {clock.id} exists.")):
            table.client().put_item(
                TableName=table.table_name(),
                Item=table.encode(to_item(scope, clock)),
                ConditionExpression="attribute_not_exists(PK)",
            )

    def get(self, scope: Scope, clock_id: str) -> TestClock | None:
        item = table.get(_key(scope, clock_id))
        return from_item(item) if item else None

    def save(self, scope: Scope, clock: TestClock, revision: int) -> None:
        changed = Conflict("The test clock is being advanced by another request.", code="clock_advancing")
        with table.condition_as(changed):
            table.client().put_item(
                TableName=table.table_name(),
                Item=table.encode(to_item(scope, clock)),
                ConditionExpression="revision = :r",
                ExpressionAttributeValues=table.encode({":r": revision}),
            )

    def due(self, scope: Scope, clock_id: str, until: str) -> Iterator[tuple[str, str, str]]:
        [partition] = due.partitions(scope, clock_id)
        return due.all_due(partition, until)
