"""Parked usage records in the billing table (see KEYS.md, "Parked record").

All parked records share one partition, sorted by their time-ordered id: they are rare by
nature (each is an anomaly an operator looks at), and one ``Query`` lists them in order.
"""

from __future__ import annotations

import contextlib
from typing import Any

from billing.adapters.dynamodb import table
from billing.pagination import Page
from billing.scope import Scope
from billing.usage.aggregator import Parked

PARTITION = "USGPARK"
ERROR_CHARS = 1000  # of a parked record's error message: its item stays small


def parked_key(parked_id: str) -> dict[str, str]:
    return {"PK": PARTITION, "SK": parked_id}


def to_item(parked: Parked) -> dict[str, Any]:
    return {
        **parked_key(parked.id),
        "source": parked.source,
        "sequence": parked.sequence,
        "scope": parked.scope.key if parked.scope else None,
        "transaction_id": parked.transaction_id,
        "error": parked.error[:ERROR_CHARS],
        "parked_at": parked.parked_at,
        "attempts": parked.attempts,
    }


def from_item(item: dict[str, Any]) -> Parked:
    scope = None
    if item.get("scope"):
        tenant_id, mode = item["scope"].split("#")
        scope = Scope(tenant_id=tenant_id, livemode=mode == "live")
    return Parked(
        id=item["SK"],
        source=item["source"],
        sequence=item["sequence"],
        scope=scope,
        transaction_id=item.get("transaction_id"),
        error=item["error"],
        parked_at=item["parked_at"],
        attempts=int(item.get("attempts", 1)),
    )


class DynamoParkedStore:
    def list(self, limit: int, after: str | None) -> Page[Parked]:
        request: dict[str, Any] = {
            "TableName": table.table_name(),
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": table.encode({":pk": PARTITION}),
            "Limit": limit + 1,
        }
        if after:
            request["ExclusiveStartKey"] = table.encode(parked_key(after))
        found: list[dict[str, Any]] = []
        while len(found) <= limit:
            response = table.client().query(**request)
            found.extend(table.decode(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        parked = [from_item(item) for item in found[:limit]]
        return Page(data=parked, has_more=len(found) > limit, next_starting_after=parked[-1].id if parked else None)

    def get(self, parked_id: str) -> Parked | None:
        item = table.get(parked_key(parked_id))
        return from_item(item) if item else None

    def failed_again(self, parked_id: str, error: str) -> None:
        with contextlib.suppress(_Gone), table.condition_as(_Gone()):  # gone: replayed meanwhile
            table.client().update_item(
                TableName=table.table_name(),
                Key=table.encode(parked_key(parked_id)),
                UpdateExpression="SET #error = :e ADD attempts :one",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames={"#error": "error"},
                ExpressionAttributeValues=table.encode({":e": error[:ERROR_CHARS], ":one": 1}),
            )


class _Gone(Exception):
    pass
