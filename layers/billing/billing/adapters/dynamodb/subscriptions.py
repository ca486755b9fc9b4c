"""Subscriptions and their history in the billing table.

- subscription: ``PK={scope}#SUB#{id}``, ``SK=SUB``; GSI1 ``{scope}#SUB`` lists them, GSI2
  ``{scope}#SUB#CUS#{customer}`` by customer, GSI3 ``{scope}#SUB#PLAN#{plan code}`` by plan
  (migrations to a new plan version read it); newest first by id.
  GSI4 indexes it when its next billing step is due (``due.py``).
- history:      ``PK={scope}#SUB#{id}``, ``SK=HIST#{revision}``: one item per transition, keyed by
  the revision it produced, beside the subscription so one query reads it in order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from billing.adapters.dynamodb import catalog, customers, due, outbox, table
from billing.catalog.coupons import KIND as COUPON
from billing.errors import BillingError, Conflict, DomainRuleViolation
from billing.events import DomainEvent
from billing.pagination import Page
from billing.scope import Scope
from billing.subscriptions.cycle import due_at
from billing.subscriptions.model import HistoryEntry, Subscription
from billing.subscriptions.service import NewSubscription, SubscriptionQuery

_NEW = "attribute_not_exists(PK)"


def _pk(scope: Scope, subscription_id: str) -> str:
    return f"{scope.key}#SUB#{subscription_id}"


def _key(scope: Scope, subscription_id: str) -> dict[str, str]:
    return {"PK": _pk(scope, subscription_id), "SK": "SUB"}


def _index_keys(scope: Scope, subscription: Subscription) -> dict[str, str]:
    return {
        "GSI1PK": f"{scope.key}#SUB",
        "GSI1SK": subscription.id,
        "GSI2PK": f"{scope.key}#SUB#CUS#{subscription.customer}",
        "GSI2SK": subscription.id,
        "GSI3PK": f"{scope.key}#SUB#PLAN#{subscription.plan_code}",
        "GSI3SK": subscription.id,
    }


def to_item(scope: Scope, subscription: Subscription) -> dict[str, Any]:
    return {
        **_key(scope, subscription.id),
        **_index_keys(scope, subscription),
        **due.keys(scope, "sub", subscription.id, due_at(subscription), subscription.test_clock),
        "entity": "subscription",
        "status": subscription.status,
        "revision": subscription.revision,
        "data": json.dumps(subscription.model_dump(mode="json"), separators=(",", ":")),
    }


def _from_item(item: dict[str, Any]) -> Subscription:
    return Subscription.model_validate({**json.loads(item["data"]), "revision": int(item["revision"])})


def history_put(scope: Scope, subscription: Subscription, entry: HistoryEntry) -> dict[str, Any]:
    item = {
        "PK": _pk(scope, subscription.id),
        "SK": f"HIST#{subscription.revision:010d}",
        "entity": "subscription_history",
        "data": json.dumps(entry.model_dump(mode="json"), separators=(",", ":")),
    }
    return table.put(item, _NEW)


class DynamoSubscriptionRepository:
    def create(self, scope: Scope, new: NewSubscription) -> None:
        subscription = new.subscription
        operations = [
            table.put(to_item(scope, subscription), _NEW),
            history_put(scope, subscription, new.history),
            outbox.put_event(new.event),
        ]
        conflicts: dict[int, BillingError] = {
            len(operations): Conflict(
                "The customer changed while subscribing (archived or given a currency); retry.",
                code="concurrent_update",
                retryable=True,
            )
        }
        operations.append(
            customers.subscribable(scope, subscription.customer, subscription.currency, new.set_customer_currency)
        )
        if new.coupon:
            exhausted = DomainRuleViolation(
                f"Coupon '{new.coupon.code}' is fully redeemed.", code="coupon_exhausted", param="coupon"
            )
            conflicts[len(operations)] = exhausted
            operations.append(catalog.redeem(scope, COUPON, new.coupon.id, new.coupon.max_redemptions))
        table.transact(operations, conflicts)

    def get(self, scope: Scope, subscription_id: str) -> Subscription | None:
        item = table.get(_key(scope, subscription_id))
        return _from_item(item) if item else None

    def save(
        self, scope: Scope, subscription: Subscription, revision: int, history: HistoryEntry, event: DomainEvent
    ) -> None:
        operations = [
            table.put(to_item(scope, subscription), "revision = :r", {":r": revision}),
            history_put(scope, subscription, history),
            outbox.put_event(event),
        ]
        table.transact(operations, {})

    def list(
        self, scope: Scope, query: SubscriptionQuery, limit: int, starting_after: str | None
    ) -> Page[Subscription]:
        by = [("GSI2", query.customer, f"{scope.key}#SUB#CUS#"), ("GSI3", query.plan_code, f"{scope.key}#SUB#PLAN#")]
        index, key_value = table.list_index(by, ("GSI1", f"{scope.key}#SUB"))
        start = table.after(_key(scope, starting_after or ""), index, key_value, starting_after)
        filter_expr = "#status = :status" if query.status else None
        names = {"#status": "status"} if query.status else None
        values = {":status": query.status} if query.status else None
        items, cursor = table.query_pages(index, f"{index}PK", key_value, start, limit, filter_expr, names, values)
        return Page(data=[_from_item(item) for item in items], has_more=cursor is not None, next_starting_after=cursor)

    def history(self, scope: Scope, subscription_id: str) -> Sequence[HistoryEntry]:
        request: dict[str, Any] = {
            "TableName": table.table_name(),
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :hist)",
            "ExpressionAttributeValues": table.encode({":pk": _pk(scope, subscription_id), ":hist": "HIST#"}),
            "ConsistentRead": True,
        }
        entries: list[HistoryEntry] = []
        while True:
            response = table.client().query(**request)
            for item in response.get("Items", []):
                entries.append(HistoryEntry.model_validate(json.loads(table.decode(item)["data"])))
            if "LastEvaluatedKey" not in response:
                return entries
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
