"""Raw usage events in the usage table (see KEYS.md, "usage table").

Each event is its own item keyed by transaction id, so duplicates collapse
onto one key and the table spreads over partitions whatever the customer.
The customer index is sharded (``SHARDS`` keys per customer) so one very
active customer is not capped by a single index partition; listing merges
the shards by timestamp.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from billing.adapters.dynamodb import table
from billing.scope import Scope
from billing.settings import get_settings
from billing.usage.model import UsageEvent

SHARDS = 16
RETENTION = timedelta(days=400)  # dedup window and re-rating horizon (>= 35 days, covers yearly plans)


def name() -> str:
    usage_table = get_settings().usage_table_name
    if not usage_table:
        raise RuntimeError("USAGE_TABLE is not set")
    return usage_table


def _key(scope: Scope, transaction_id: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#UEV#{transaction_id}", "SK": "UEV"}


def key_parts(key: dict[str, Any]) -> tuple[Scope | None, str | None]:
    """The scope and transaction id an item key names (None where it names none)."""
    tenant_id, mode, kind, transaction_id = ([*str(key.get("PK", "")).split("#", 3), "", "", ""])[:4]
    if kind != "UEV" or not transaction_id or mode not in ("test", "live"):
        return None, None
    return Scope(tenant_id=tenant_id, livemode=mode == "live"), transaction_id


def _customer_key(scope: Scope, customer_id: str, shard: int) -> str:
    return f"{scope.key}#UEV#CUS#{customer_id}#{shard:02d}"


def shard_of(transaction_id: str) -> int:
    return zlib.crc32(transaction_id.encode()) % SHARDS


def to_item(scope: Scope, event: UsageEvent) -> dict[str, Any]:
    received = datetime.fromisoformat(event.received_at)
    return {
        **_key(scope, event.transaction_id),
        "GSI1PK": _customer_key(scope, event.customer, shard_of(event.transaction_id)),
        "GSI1SK": f"{event.timestamp}#{event.transaction_id}",
        "scope": scope.key,
        "transaction_id": event.transaction_id,
        "customer": event.customer,
        "code": event.code,
        "timestamp": event.timestamp,
        "properties": event.properties or None,
        "subscription": event.subscription,
        "period_start": event.period_start,
        "period_end": event.period_end,
        "aggregation": event.aggregation,
        "value": event.value,
        "group": event.group or None,
        "unique": event.unique,
        "received_at": event.received_at,
        "expires_at": int((received + RETENTION).timestamp()),
    }


def from_item(item: dict[str, Any]) -> tuple[Scope, UsageEvent]:
    tenant_id, mode = item["scope"].split("#")
    event = UsageEvent(
        transaction_id=item["transaction_id"],
        customer=item["customer"],
        code=item["code"],
        timestamp=item["timestamp"],
        properties=_plain(item.get("properties") or {}),
        subscription=item["subscription"],
        period_start=item["period_start"],
        period_end=item["period_end"],
        aggregation=item["aggregation"],
        value=Decimal(item["value"]),
        group=item.get("group") or {},
        received_at=item["received_at"],
        unique=item.get("unique"),
    )
    return Scope(tenant_id=tenant_id, livemode=mode == "live"), event


def _plain(properties: dict[str, Any]) -> dict[str, Any]:
    """Numbers come back from DynamoDB as Decimal; give them back as JSON numbers."""
    return {
        k: (int(v) if v == v.to_integral_value() else float(v)) if isinstance(v, Decimal) else v
        for k, v in properties.items()
    }


class DynamoUsageEventStore:
    def existing(self, scope: Scope, transaction_ids: Sequence[str]) -> set[str]:
        found = table.batch_get(name(), [_key(scope, txid) for txid in transaction_ids])
        prefix = len(f"{scope.key}#UEV#")
        return {item["PK"][prefix:] for item in found}

    def put_new(self, scope: Scope, events: Sequence[UsageEvent]) -> set[str]:
        """Create each event's item unless its key exists (``table.batch_insert``): the ids
        created are the writes that won; an id another request created first is not among them."""
        created = table.batch_insert(name(), [to_item(scope, event) for event in events])
        return {event.transaction_id for event, new in zip(events, created, strict=True) if new}

    def get(self, scope: Scope, transaction_id: str) -> UsageEvent | None:
        response = table.client().get_item(TableName=name(), Key=table.encode(_key(scope, transaction_id)))
        item = response.get("Item")
        return from_item(table.decode(item))[1] if item else None

    def for_customer(
        self, scope: Scope, customer: str, window: tuple[str, str], code: str | None, limit: int, before: str | None
    ) -> tuple[list[UsageEvent], bool]:
        """Newest first within ``[from, to)``, below the ``before`` position (``timestamp#txid``)."""
        upper = min(f"{window[1]}", before) if before else window[1]
        pages = [self._shard(scope, customer, shard, window[0], upper, code, limit + 1) for shard in range(SHARDS)]
        merged: Iterator[dict[str, Any]] = heapq.merge(*pages, key=lambda item: item["GSI1SK"], reverse=True)
        items = [item for _, item in zip(range(limit + 1), merged, strict=False)]
        return [from_item(item)[1] for item in items[:limit]], len(items) > limit

    @staticmethod
    def _shard(
        scope: Scope, customer: str, shard: int, lower: str, upper: str, code: str | None, want: int
    ) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": name(),
            "IndexName": "GSI1",
            "KeyConditionExpression": "GSI1PK = :pk AND GSI1SK BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": table.encode(
                {
                    ":pk": _customer_key(scope, customer, shard),
                    ":lo": lower,
                    ":hi": upper,
                    **({":code": code} if code else {}),
                }
            ),
            "ScanIndexForward": False,
            "Limit": want,
        }
        if code:
            request |= {"FilterExpression": "code = :code"}
        found: list[dict[str, Any]] = []
        while len(found) < want:
            response = table.client().query(**request)
            found.extend(table.decode(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return [item for item in found[:want] if item["GSI1SK"] != upper]


def position(event: UsageEvent) -> str:
    """Where an event sits in a customer's listing (the cursor of the next page)."""
    return f"{event.timestamp}#{event.transaction_id}"
