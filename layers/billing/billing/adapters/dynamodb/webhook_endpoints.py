"""Outbound webhook endpoints and their deliveries in the billing table (``billing.webhooks_out``).

- endpoint: ``PK={scope}#WHO``, ``SK=WHO#{endpoint_id}``: a scope's few endpoints (16 at most)
  share one partition, so the fan-out reads them with one ``Query``. ``sealed`` is the signing
  secret encrypted with KMS (context: tenant, mode, endpoint), never plain text.
- delivery: ``PK={scope}#WHD#{endpoint_id}``, ``SK=WHD#{delivery_id}``: an endpoint's log is one
  partition, listed newest first by the time-ordered ids; ``body`` is the bytes every attempt
  POSTs (zlib); ``expires_at`` removes it after 30 days (the table's TTL).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from botocore.exceptions import ClientError

from billing.adapters.dynamodb import table
from billing.errors import Conflict
from billing.pagination import Page, PageRequest
from billing.scope import Scope
from billing.webhooks_out.model import Attempt, Delivery, DeliveryStatus, WebhookEndpoint


def _endpoints(scope: Scope) -> str:
    return f"{scope.key}#WHO"


def _key(scope: Scope, endpoint_id: str) -> dict[str, str]:
    return {"PK": _endpoints(scope), "SK": f"WHO#{endpoint_id}"}


def _log(scope: Scope, endpoint_id: str) -> str:
    return f"{scope.key}#WHD#{endpoint_id}"


def _delivery_key(scope: Scope, endpoint_id: str, delivery_id: str) -> dict[str, str]:
    return {"PK": _log(scope, endpoint_id), "SK": f"WHD#{delivery_id}"}


def to_item(scope: Scope, endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        **_key(scope, endpoint.id),
        "entity": "webhook_endpoint_out",
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.enabled_events),
        "enabled": endpoint.enabled,
        "desc": endpoint.description,
        "sealed": endpoint.sealed,
        "ca": endpoint.created_at.isoformat(),
        "ua": endpoint.updated_at.isoformat(),
        "revision": endpoint.revision,
    }


def from_item(scope: Scope, item: Mapping[str, Any]) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=item["id"],
        url=item["url"],
        enabled_events=tuple(item["events"]),
        enabled=bool(item["enabled"]),
        created_at=datetime.fromisoformat(item["ca"]),
        updated_at=datetime.fromisoformat(item["ua"]),
        livemode=scope.livemode,
        description=item.get("desc"),
        revision=int(item["revision"]),
        sealed=bytes(item["sealed"]),
    )


def _attempt_fields(delivery: Delivery) -> dict[str, Any]:
    last = delivery.last_attempt
    return {
        "status": delivery.status,
        "attempts": delivery.attempts,
        "la": last.at.isoformat() if last else None,
        "ms": last.duration_ms if last else None,
        "rs": last.response_status if last else None,
        "err": last.error if last else None,
        "na": delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else None,
    }


def delivery_item(scope: Scope, delivery: Delivery) -> dict[str, Any]:
    return {
        **_delivery_key(scope, delivery.endpoint_id, delivery.id),
        "entity": "webhook_delivery",
        "id": delivery.id,
        "ep": delivery.endpoint_id,
        "eid": delivery.event_id,
        "type": delivery.event_type,
        "ca": delivery.created_at.isoformat(),
        "body": zlib.compress(delivery.body, 9),
        "expires_at": int(delivery.expires_at.timestamp()),
        **_attempt_fields(delivery),
    }


def delivery_from_item(item: Mapping[str, Any]) -> Delivery:
    last = None
    if item.get("la"):
        status = item.get("rs")
        last = Attempt(datetime.fromisoformat(item["la"]), int(item.get("ms") or 0),
                       int(status) if status is not None else None, item.get("err"))  # fmt: skip
    return Delivery(
        id=item["id"],
        endpoint_id=item["ep"],
        event_id=item["eid"],
        event_type=item["type"],
        created_at=datetime.fromisoformat(item["ca"]),
        status=cast(DeliveryStatus, item["status"]),
        attempts=int(item["attempts"]),
        last_attempt=last,
        next_attempt_at=datetime.fromisoformat(item["na"]) if item.get("na") else None,
        body=zlib.decompress(bytes(item["body"])),
    )


class DynamoWebhookEndpointRepository:
    def list(self, scope: Scope) -> list[WebhookEndpoint]:
        return [from_item(scope, item) for item in table.query_all(_endpoints(scope), consistent=True)]

    def get(self, scope: Scope, endpoint_id: str) -> WebhookEndpoint | None:
        item = table.get(_key(scope, endpoint_id))
        return from_item(scope, item) if item else None

    def create(self, scope: Scope, endpoint: WebhookEndpoint) -> None:
        with table.condition_as(Conflict(f"Webhook endpoint {endpoint.id} exists.")):
            table.client().put_item(TableName=table.table_name(), Item=table.encode(to_item(scope, endpoint)),
                                    ConditionExpression="attribute_not_exists(PK)")  # fmt: skip

    def replace(self, scope: Scope, endpoint: WebhookEndpoint) -> None:
        raced = Conflict("The webhook endpoint was changed meanwhile; retry.", retryable=True, code="concurrent_update")
        with table.condition_as(raced):
            table.client().put_item(
                TableName=table.table_name(),
                Item=table.encode(to_item(scope, endpoint)),
                ConditionExpression="revision = :r",
                ExpressionAttributeValues=table.encode({":r": endpoint.revision - 1}),
            )

    def delete(self, scope: Scope, endpoint_id: str) -> None:
        table.client().delete_item(TableName=table.table_name(), Key=table.encode(_key(scope, endpoint_id)))


class DynamoDeliveryStore:
    def add(self, scope: Scope, delivery: Delivery) -> Delivery | None:
        kept = table.put_unless_kept(delivery_item(scope, delivery), "attribute_not_exists(PK)")
        if kept is None:
            return None
        return delivery_from_item(kept.item) if kept.item is not None else delivery

    def get(self, scope: Scope, endpoint_id: str, delivery_id: str) -> Delivery | None:
        item = table.get(_delivery_key(scope, endpoint_id, delivery_id))
        return delivery_from_item(item) if item else None

    def attempted(self, scope: Scope, delivery: Delivery) -> None:
        fields = _attempt_fields(delivery)
        kept = {name: value for name, value in fields.items() if value is not None}
        gone = [name for name, value in fields.items() if value is None]
        names = {f"#{name}": name for name in fields}
        expression = "SET " + ", ".join(f"#{name} = :{name}" for name in kept)
        if gone:
            expression += " REMOVE " + ", ".join(f"#{name}" for name in gone)
        try:
            table.client().update_item(
                TableName=table.table_name(),
                Key=table.encode(_delivery_key(scope, delivery.endpoint_id, delivery.id)),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=table.encode({f":{name}": value for name, value in kept.items()}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # expired meanwhile: a half record (no body) is not made again

    def page(self, scope: Scope, endpoint_id: str, request: PageRequest) -> Page[Delivery]:
        start = _delivery_key(scope, endpoint_id, request.starting_after) if request.starting_after else None
        items, more = table.partition_page(_log(scope, endpoint_id), start, request.limit)
        shown = [delivery_from_item(item) for item in items]
        return Page.of(shown, shown[-1].id if more else None)
