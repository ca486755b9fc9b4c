"""Customers' notifications in the billing table (``billing.notifications``).

- notification: ``PK={scope}#NTF#{customer_id}``, ``SK=NTF#{notification_id}``: a customer's
  log is one partition, listed newest first by the ids (derived from event and channel with
  the event's time). Written first as the claim (``pending``, with a lease), then with how it
  ended; ``expires_at`` removes it after 400 days (the table's TTL).
- the per-tenant allowance: ``PK={tenant_id}#NTFRATE#{minute}``, ``SK=NTFRATE``: a counter of
  the sends of one minute (UTC, ``YYYYmmddHHMM``), both modes together, added to only while it
  stays within the limit; ``expires_at`` an hour later.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from botocore.exceptions import ClientError

from billing.adapters.dynamodb import table
from billing.notifications.model import Channel, Notification, Status
from billing.pagination import Page, PageRequest
from billing.scope import Scope

PER_MINUTE = 300
"""Sends per tenant and minute (SES's default account rate is 14 a second for every tenant)."""

# Written when nothing stands under the id, or what stands gave way: a claim whose sender died
# (pending past its lease) or a failure to be tried again.
_CLAIMABLE = "attribute_not_exists(PK) OR (st = :pending AND lu < :now) OR (st = :failed AND rt = :yes)"


def _log(scope: Scope, customer_id: str) -> str:
    return f"{scope.key}#NTF#{customer_id}"


def _key(scope: Scope, customer_id: str, notification_id: str) -> dict[str, str]:
    return {"PK": _log(scope, customer_id), "SK": f"NTF#{notification_id}"}


def to_item(scope: Scope, notification: Notification) -> dict[str, Any]:
    n = notification
    return {
        **_key(scope, n.customer, n.id),
        "entity": "notification",
        "id": n.id,
        "cus": n.customer,
        "eid": n.event_id,
        "type": n.event_type,
        "ch": n.channel,
        "ca": n.created_at.isoformat(),
        "st": n.status,
        "addr": n.to,
        "why": n.reason,
        "mid": n.message_id,
        "rt": True if n.retry else None,
        "lu": int(n.lease_until.timestamp()) if n.lease_until else None,  # epoch seconds, compared
        "expires_at": int(n.expires_at.timestamp()),
    }


def from_item(item: Mapping[str, Any]) -> Notification:
    return Notification(
        id=item["id"],
        customer=item["cus"],
        event_id=item["eid"],
        event_type=item["type"],
        channel=cast(Channel, item["ch"]),
        created_at=datetime.fromisoformat(item["ca"]),
        status=cast(Status, item["st"]),
        to=item.get("addr"),
        reason=item.get("why"),
        message_id=item.get("mid"),
        retry=bool(item.get("rt")),
        lease_until=datetime.fromtimestamp(int(item["lu"]), UTC) if item.get("lu") else None,
    )


class DynamoNotificationLog:
    def claim(self, scope: Scope, notification: Notification, now: datetime) -> Notification | None:
        values = {":pending": "pending", ":failed": "failed", ":yes": True, ":now": int(now.timestamp())}
        kept = table.put_unless_kept(to_item(scope, notification), _CLAIMABLE, values)
        if kept is None:
            return None
        return from_item(kept.item) if kept.item is not None else notification

    def finish(self, scope: Scope, notification: Notification) -> None:
        table.client().put_item(TableName=table.table_name(), Item=table.encode(to_item(scope, notification)))

    def page(self, scope: Scope, customer_id: str, request: PageRequest) -> Page[Notification]:
        start = _key(scope, customer_id, request.starting_after) if request.starting_after else None
        items, more = table.partition_page(_log(scope, customer_id), start, request.limit)
        shown = [from_item(item) for item in items]
        return Page.of(shown, shown[-1].id if more else None)


class DynamoRateLimiter:
    """A fixed window per tenant and minute: one conditional ``UpdateItem`` per event."""

    def __init__(self, per_minute: int | None = None):
        self._per_minute = per_minute or PER_MINUTE

    def take(self, tenant_id: str, count: int, now: datetime) -> timedelta | None:
        minute = now.replace(second=0, microsecond=0)
        next_minute = minute + timedelta(minutes=1)
        if count > self._per_minute:
            raise ValueError(f"{count} sends exceed the limit of {self._per_minute} a minute")
        try:
            table.client().update_item(
                TableName=table.table_name(),
                Key=table.encode({"PK": f"{tenant_id}#NTFRATE#{minute:%Y%m%d%H%M}", "SK": "NTFRATE"}),
                UpdateExpression="ADD n :count SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(n) OR n <= :room",
                ExpressionAttributeValues=table.encode(
                    {
                        ":count": count,
                        ":room": self._per_minute - count,
                        ":expires": int((minute + timedelta(hours=1)).timestamp()),
                    }
                ),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return next_minute - now
        return None
