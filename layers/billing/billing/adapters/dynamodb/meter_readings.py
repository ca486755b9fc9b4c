"""The last reading of each customer's meter, in the billing table (see KEYS.md, "Meter reading state")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.adapters.dynamodb import table
from billing.errors import Conflict
from billing.scope import Scope
from billing.usage.readings import ReadingState


def _key(scope: Scope, customer: str, meter: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#RDG#{customer}#{meter}", "SK": "RDG"}


def to_item(scope: Scope, state: ReadingState) -> dict[str, Any]:
    return {
        **_key(scope, state.customer, state.meter),
        "customer": state.customer,
        "meter": state.meter,
        "reading_id": state.reading_id,
        "reading": state.reading,
        "timestamp": state.timestamp,
        "consumption": state.consumption,
        "baseline_id": state.baseline_id,
        "revision": state.revision,
    }


def from_item(item: dict[str, Any]) -> ReadingState:
    consumption = item.get("consumption")
    return ReadingState(
        customer=item["customer"],
        meter=item["meter"],
        reading_id=item["reading_id"],
        reading=Decimal(item["reading"]),
        timestamp=item["timestamp"],
        consumption=None if consumption is None else Decimal(consumption),
        baseline_id=item["baseline_id"],
        revision=int(item["revision"]),
    )


class DynamoMeterReadingStore:
    def get(self, scope: Scope, customer: str, meter: str) -> ReadingState | None:
        item = table.get(_key(scope, customer, meter))
        return None if item is None else from_item(item)

    def save(self, scope: Scope, state: ReadingState) -> None:
        condition = "attribute_not_exists(PK)" if state.revision == 1 else "revision = :previous"
        values = {} if state.revision == 1 else {":previous": state.revision - 1}
        request: dict[str, Any] = {
            "TableName": table.table_name(),
            "Item": table.encode(to_item(scope, state)),
            "ConditionExpression": condition,
        }
        if values:
            request["ExpressionAttributeValues"] = table.encode(values)
        moved = Conflict(
            "Another reading of this meter was recorded meanwhile; retry.", code="concurrent_update", retryable=True
        )
        with table.condition_as(moved):
            table.client().put_item(**request)
