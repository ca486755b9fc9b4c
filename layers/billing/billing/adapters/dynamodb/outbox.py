"""Outbox records: a domain event written in the same transaction as its change.

The table's stream carries each new outbox record to the publisher, which
puts it on the event bus. Records expire a week after they were written.
"""

from __future__ import annotations

import json
from typing import Any

from billing.adapters.dynamodb import table
from billing.events import DomainEvent

ENTITY = "event"
RETENTION_SECONDS = 7 * 24 * 3600


def put_event(event: DomainEvent) -> dict[str, Any]:
    """The transaction operation that records ``event``."""
    return table.put(
        {
            "PK": f"{event.scope.key}#EVT#{event.id}",
            "SK": "EVT",
            "entity": ENTITY,
            "event_type": event.type,
            "body": json.dumps(event.envelope(), separators=(",", ":")),
            "expires_at": int(event.occurred_at.timestamp()) + RETENTION_SECONDS,
        }
    )


def envelope_of(item: dict[str, Any]) -> dict[str, Any] | None:
    """The event body of a stored outbox item, or None for any other item."""
    if item.get("entity") != ENTITY:
        return None
    body: dict[str, Any] = json.loads(item["body"])
    return body


class DynamoEventRecorder:
    def record(self, event: DomainEvent) -> None:
        put = put_event(event)["Put"]
        table.client().put_item(TableName=put["TableName"], Item=put["Item"])
