"""Raw usage events in the usage table (see KEYS.md, "Usage event").

Each event is its own item keyed by transaction id, so duplicates collapse onto one key and
the table spreads over partitions whatever the customer. A customer's events are listed
from the items the aggregator writes per stream chunk (``usage_listing``), not from an index:
an index entry per event would double each event's write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from billing.adapters.dynamodb import table, usage_listing
from billing.scope import Scope
from billing.settings import get_settings
from billing.usage.model import UsageEvent

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


def expires_at(event: UsageEvent) -> int:
    """When the event's item expires (TTL): ``RETENTION`` after it was received."""
    return int((datetime.fromisoformat(event.received_at) + RETENTION).timestamp())


def to_item(scope: Scope, event: UsageEvent) -> dict[str, Any]:
    """The stored event: the scope and transaction id are in its key only."""
    return {
        **_key(scope, event.transaction_id),
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
        "expires_at": expires_at(event),
    }


def from_item(item: dict[str, Any]) -> tuple[Scope, UsageEvent]:
    """Items stored before the key alone named them (with ``scope``, ``transaction_id`` and
    the customer index keys ``GSI1PK``/``GSI1SK`` as attributes) read the same: only the key is
    looked at for the scope and transaction id, and the other attributes are left alone."""
    scope, transaction_id = key_parts(item)
    if scope is None or transaction_id is None:
        raise ValueError(f"not a usage event key: {item.get('PK')!r}")
    event = UsageEvent(
        transaction_id=transaction_id,
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
    return scope, event


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
        and the position the next page starts below (None at the end): positions from the
        customer's event lists (``usage_listing.page``), then the events of the page, read by key.

        A listed event no longer stored (expired), or stored with another customer, code or
        position (an operator corrected it before replaying it), is left out."""
        upper = min(window[1], before) if before else window[1]
        positions, floor = usage_listing.page(scope, customer, window, code, limit, upper)
        shown = positions[:limit]
        stored = self._events(scope, [usage_listing.transaction_id(at) for at in shown])
        events = [
            event
            for at in shown
            if (event := stored.get(usage_listing.transaction_id(at))) is not None
            and event.customer == customer
            and usage_listing.position(event) == at
            and code in (None, event.code)
        ]
        if len(positions) > limit:
            return events, shown[-1]
        return events, floor

    def _events(self, scope: Scope, transaction_ids: Sequence[str]) -> dict[str, UsageEvent]:
        found = table.batch_get(name(), [_key(scope, txid) for txid in transaction_ids], projection=None)
        return {event.transaction_id: event for event in (from_item(item)[1] for item in found)}
