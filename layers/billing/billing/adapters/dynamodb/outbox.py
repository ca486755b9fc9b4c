"""Outbox records: a domain event written in the same transaction as its change.

``PK={scope}#EVT#{event_id}``, ``SK=EVT``. The table's stream carries each new outbox record to
the publisher, which puts its envelope (``DomainEvent.envelope``, built when it is published)
on the event bus. Records expire a week after they were written.

Items have their own shape (``to_item``/``from_item``), not the published envelope: changing
the envelope never rewrites what is stored. The event's data (an invoice event carries the
invoice whole, lines included) is zlib-compressed JSON in ``zdata``: one write unit where the
plain JSON took three.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from billing.adapters.dynamodb import table
from billing.adapters.dynamodb.shapes import pack, unpack
from billing.events import DomainEvent
from billing.scope import Scope

ENTITY = "event"
RETENTION_SECONDS = 7 * 24 * 3600


def to_item(event: DomainEvent) -> dict[str, Any]:
    return {
        "PK": f"{event.scope.key}#EVT#{event.id}",
        "SK": "EVT",
        "entity": ENTITY,
        "id": event.id,
        "event_type": event.type,
        "tenant_id": event.scope.tenant_id,
        "livemode": event.scope.livemode,
        "occurred_at": event.occurred_at.isoformat(),
        "zdata": pack(event.data),
        "expires_at": int(event.occurred_at.timestamp()) + RETENTION_SECONDS,
    }


def from_item(item: dict[str, Any]) -> DomainEvent:
    """The event of a stored item, or of a stream record's image of it (where a binary value is
    bytes, or base64 text in a Lambda event's JSON)."""
    if "zdata" in item:
        blob = item["zdata"]
        data = unpack(base64.b64decode(blob) if isinstance(blob, str) else blob)
    else:  # written before the data was compressed: plain JSON
        data = json.loads(item["data"])
    return DomainEvent(
        type=item["event_type"],
        scope=Scope(item["tenant_id"], livemode=bool(item["livemode"])),
        occurred_at=datetime.fromisoformat(item["occurred_at"]),
        data=data,
        id=item["id"],
    )


def put_event(event: DomainEvent) -> dict[str, Any]:
    """The transaction operation that records ``event``."""
    return table.put(to_item(event))


def envelope_of(item: dict[str, Any]) -> dict[str, Any] | None:
    """The envelope to publish for a stored outbox item, or None for any other item. Records
    written before outbox items had a shape of their own hold the envelope itself (``body``):
    published as they are."""
    if item.get("entity") != ENTITY:
        return None
    if "body" in item:
        body: dict[str, Any] = json.loads(item["body"])
        return body
    return from_item(item).envelope()


class DynamoEventRecorder:
    def record(self, event: DomainEvent) -> None:
        put = put_event(event)["Put"]
        table.client().put_item(TableName=put["TableName"], Item=put["Item"])
