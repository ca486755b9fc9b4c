"""Verified provider events in the billing table, stored raw (``billing.payments.provider_events``).

- event: ``PK={scope}#PEVT#{provider}#{h(event id)}``, ``SK=PEVT``, where ``h`` is the first 32
  hex digits of SHA-256 (provider event ids have no fixed length: the key's size is fixed).
  ``state`` (``received``, ``processed``), ``eid`` (the provider's event id), ``type``, ``ra`` /
  ``pa`` (received / processed at), ``event`` (the normalized event, compressed JSON) and
  ``raw`` (the body as it came, compressed). Kept: the record of what providers told us.
- Storing is one ``PutItem`` with ``attribute_not_exists(PK)`` that returns the stored item when
  it fails (``ALL_OLD``): a redelivery costs one write attempt and no read.
- ``processed`` is an ``Update`` conditioned on ``state = received``, written after the event
  was applied (``ProviderEventProcessor``): a stop between the two leaves it ``received``, and
  its next delivery applies it again, which finds nothing new.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any, cast

from botocore.exceptions import ClientError

from billing.adapters.dynamodb import table
from billing.adapters.dynamodb.shapes import pack, unpack
from billing.payments.provider_events import EventRef, State, StoredEvent
from billing.payments.providers import ProviderEvent

_EVENT_FIELDS = {f.name for f in fields(ProviderEvent)}


def key(ref: EventRef) -> dict[str, str]:
    digest = hashlib.sha256(ref.event_id.encode()).hexdigest()[:32]
    return {"PK": f"{ref.scope.key}#PEVT#{ref.provider}#{digest}", "SK": "PEVT"}


def to_item(ref: EventRef, event: ProviderEvent, raw_body: bytes, at: datetime) -> dict[str, Any]:
    return {
        **key(ref),
        "entity": "provider_event",
        "tenant_id": ref.scope.tenant_id,
        "livemode": ref.scope.livemode,
        "provider": ref.provider,
        "eid": ref.event_id,
        "type": event.type,
        "state": "received",
        "ra": at.isoformat(),
        "event": pack({**asdict(event), "occurred_at": event.occurred_at.isoformat()}),
        "raw": zlib.compress(raw_body),
    }


def from_item(ref: EventRef, item: Mapping[str, Any]) -> StoredEvent:
    stored = unpack(item["event"])
    values = {name: value for name, value in stored.items() if name in _EVENT_FIELDS}
    event = ProviderEvent(**{**values, "occurred_at": datetime.fromisoformat(stored["occurred_at"])})
    return StoredEvent(ref, event, cast(State, item["state"]), datetime.fromisoformat(item["ra"]))


def raw_body(item: Mapping[str, Any]) -> bytes:
    """The body as the provider sent it."""
    return zlib.decompress(bytes(item["raw"]))


class DynamoProviderEventStore:
    def add(self, ref: EventRef, event: ProviderEvent, raw: bytes, at: datetime) -> StoredEvent | None:
        kept = table.put_unless_kept(to_item(ref, event, raw, at), "attribute_not_exists(PK)")
        if kept is None:
            return None
        assert kept.item is not None, "stored events are never deleted"
        return from_item(ref, kept.item)

    def get(self, ref: EventRef) -> StoredEvent | None:
        item = table.get(key(ref))
        return from_item(ref, item) if item else None

    def mark_processed(self, ref: EventRef, at: datetime) -> None:
        try:
            table.client().update_item(
                TableName=table.table_name(),
                Key=table.encode(key(ref)),
                UpdateExpression="SET #state = :processed, pa = :at",
                ConditionExpression="#state = :received",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=table.encode(
                    {":processed": "processed", ":received": "received", ":at": at.isoformat()}
                ),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # processed already: it stays as it is
