"""Outbox records: the domain events of a change, written in the same transaction as it.

``PK={scope}#EVT#{first event id}``, ``SK=EVT``: one record per transaction, holding each of
its events in order (a billing step's renewal, invoice creation and finalization share one).
The table's stream carries each new record to the publisher, which puts one envelope per event
(``DomainEvent.envelope``, built when it is published) on the event bus. Records expire a week
after they were written.

Records have their own shape (``to_item``/``from_item``), not the published envelope: changing
the envelope never rewrites what is stored. The events (an invoice event carries the invoice
whole, lines included) are zlib-compressed JSON in ``zevents``: the events of one step carry
the same invoice, which compresses to almost nothing the second time, so a step's record
stays within one write unit. Records written before kept one event each (``zdata``, or plain
JSON in ``data``; the oldest, the envelope in ``body``): still read.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from billing.adapters.dynamodb import table
from billing.adapters.dynamodb.shapes import pack, unpack
from billing.events import DomainEvent
from billing.scope import Scope

ENTITY = "event"
RETENTION_SECONDS = 7 * 24 * 3600


def to_item(events: Sequence[DomainEvent]) -> dict[str, Any]:
    first = events[0]
    scope = first.scope
    if any(event.scope != scope for event in events):
        raise ValueError("one outbox record holds the events of one scope")
    stored = [{"id": e.id, "type": e.type, "occurred_at": e.occurred_at.isoformat(), "data": e.data} for e in events]
    return {
        "PK": f"{scope.key}#EVT#{first.id}",
        "SK": "EVT",
        "entity": ENTITY,
        "tenant_id": scope.tenant_id,
        "livemode": scope.livemode,
        "zevents": pack({"events": stored}),
        "expires_at": int(first.occurred_at.timestamp()) + RETENTION_SECONDS,
    }


def from_item(item: dict[str, Any]) -> list[DomainEvent]:
    """The events of a stored record, or of a stream record's image of it (where a binary
    value is bytes, or base64 text in a Lambda event's JSON)."""
    scope = Scope(item["tenant_id"], livemode=bool(item["livemode"]))
    if "zevents" in item:
        stored = unpack(_binary(item["zevents"]))["events"]
    else:  # one event per record, compressed (``zdata``) or, before that, plain JSON
        data = unpack(_binary(item["zdata"])) if "zdata" in item else json.loads(item["data"])
        stored = [{"id": item["id"], "type": item["event_type"], "occurred_at": item["occurred_at"], "data": data}]
    return [
        DomainEvent(
            type=e["type"],
            scope=scope,
            occurred_at=datetime.fromisoformat(e["occurred_at"]),
            data=e["data"],
            id=e["id"],
        )
        for e in stored
    ]


def _binary(blob: Any) -> Any:
    return base64.b64decode(blob) if isinstance(blob, str) else blob


def put_events(events: Sequence[DomainEvent]) -> list[dict[str, Any]]:
    """The transaction operations that record ``events``: one record, or none without events."""
    return [table.put(to_item(events))] if events else []


def envelopes_of(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The envelopes to publish for a stored item: its events' for an outbox record, none for
    any other item. Records of the oldest shape hold the envelope itself (``body``)."""
    if item.get("entity") != ENTITY:
        return []
    if "body" in item:
        return [json.loads(item["body"])]
    return [event.envelope() for event in from_item(item)]


class DynamoEventRecorder:
    def record(self, event: DomainEvent) -> None:
        put = table.put(to_item([event]))["Put"]
        table.client().put_item(TableName=put["TableName"], Item=put["Item"])
