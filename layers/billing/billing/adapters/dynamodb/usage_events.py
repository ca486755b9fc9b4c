"""Raw usage events in the usage table (see KEYS.md, "usage table").

Each event is its own item keyed by transaction id, so duplicates collapse
onto one key and the table spreads over partitions whatever the customer.
The customer index is sharded (``SHARDS`` keys per customer) so one very
active customer is not capped by a single index partition; listing merges
the shards by timestamp.
"""

from __future__ import annotations

import heapq
import itertools
import zlib
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from billing.adapters.dynamodb import table
from billing.pagination import MAX_SCANNED
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
    ) -> tuple[list[UsageEvent], str | None]:
        """Newest first within ``[from, to)``, below the ``before`` position (``timestamp#txid``),
        and the position the next page starts below (None at the end).

        With a meter code, each shard reads at most its share of ``MAX_SCANNED`` events (a rare
        code never reads the whole index); without, ``limit`` + 2 (the event at ``before`` is read
        and left out). Shards stopped by that bound leave unread events below the
        position they stopped at, so the page holds only what lies at or above the highest such
        position, which is then the next page's start, whether or not its event matched."""
        upper = min(f"{window[1]}", before) if before else window[1]
        budget = MAX_SCANNED // SHARDS if code else limit + 2
        shards = [self._shard(scope, customer, s, window[0], upper, code, limit + 1, budget) for s in range(SHARDS)]
        floor = max((stop for _, stop in shards if stop is not None), default=None)
        merged: Iterator[dict[str, Any]] = heapq.merge(*(i for i, _ in shards), key=_position, reverse=True)
        if floor is not None:
            merged = itertools.takewhile(lambda item: _position(item) >= floor, merged)
        items = list(itertools.islice(merged, limit + 1))
        events = [from_item(item)[1] for item in items[:limit]]
        if len(items) > limit:
            return events, _position(items[limit - 1])
        return events, floor

    @staticmethod
    def _shard(
        scope: Scope, customer: str, shard: int, lower: str, upper: str, code: str | None, want: int, budget: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Up to ``want`` events of one shard strictly below ``upper``, reading at most ``budget``;
        with the position it stopped at when the budget ran out first (None otherwise)."""
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
            "Limit": budget,
        }
        if code:
            request |= {"FilterExpression": "code = :code"}
        found: list[dict[str, Any]] = []
        scanned = 0
        while True:
            response = table.client().query(**request)
            items = response.get("Items", [])
            found.extend(item for item in map(table.decode, items) if _position(item) != upper)
            scanned += response.get("ScannedCount", len(items))
            last = response.get("LastEvaluatedKey")
            if len(found) >= want or last is None:
                return found[:want], None
            if scanned >= budget:
                return found, _position(table.decode(last))
            request["ExclusiveStartKey"] = last
            request["Limit"] = min(request["Limit"], budget - scanned)


def _position(item: dict[str, Any]) -> str:
    return str(item["GSI1SK"])


def position(event: UsageEvent) -> str:
    """Where an event sits in a customer's listing (the cursor of the next page)."""
    return f"{event.timestamp}#{event.transaction_id}"
