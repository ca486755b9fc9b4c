"""Subscriptions and their history in the billing table.

- subscription: ``PK={scope}#SUB#{id}``, ``SK=SUB``; GSI1 ``{scope}#SUB`` lists them, GSI2
  ``{scope}#SUB#CUS#{customer}`` by customer, GSI3 ``{scope}#SUB#PLAN#{plan code}`` by plan
  (migrations to a new plan version read it); newest first by id.
  GSI4 indexes it when its next billing step is due (``due.py``).
- history:      ``PK={scope}#SUB#{id}``, ``SK=HIST#{revision}``: one item per transition, keyed by
  the revision it produced, beside the subscription so one query reads it in order.

Both keep their fields as JSON in ``data``, written and read by name here (``to_item``,
``from_item``, ``history_put``, ``history_from_item``), not the public JSON: ``id``,
``object``, ``livemode`` and ``status`` of a subscription come from its key, its type, its
scope and its own attribute. Items written before kept the public JSON of the time in
``data``; its names are the ones read here, so they are still read as they are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic_core import to_jsonable_python

from billing.adapters.dynamodb import catalog, customers, due, outbox, table
from billing.catalog.coupons import KIND as COUPON
from billing.errors import BillingError, Conflict, DomainRuleViolation
from billing.events import DomainEvent
from billing.pagination import Page
from billing.scope import Scope
from billing.subscriptions.cycle import due_at
from billing.subscriptions.model import HistoryEntry, PendingChange, Subscription, SubscriptionAddOn
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
    s = subscription
    data = {
        "customer": s.customer,
        "plan": s.plan,
        "plan_code": s.plan_code,
        "currency": s.currency,
        "start_date": s.start_date,
        "billing_anchor": s.billing_anchor,
        "trial_end": s.trial_end,
        "current_period_start": s.current_period_start,
        "current_period_end": s.current_period_end,
        "cancel_at_period_end": s.cancel_at_period_end,
        "canceled_at": s.canceled_at,
        "paused_at": s.paused_at,
        "coupon": s.coupon,
        "add_ons": [_add_on_item(item) for item in s.add_ons],
        "pending_change": _pending_item(s.pending_change) if s.pending_change else None,
        "metadata": s.metadata,
        "created_at": s.created_at,
        "test_clock": s.test_clock,
        "invoiced_through": s.invoiced_through,
        "billed_through": s.billed_through,
        "coupon_uses": s.coupon_uses,
    }
    # Fields at their defaults are left out (``from_item`` reads them back): the item stays
    # within one write unit, which every billing step pays twice.
    data = {name: value for name, value in data.items() if value not in (None, False, 0, [], {})}
    return {
        **_key(scope, s.id),
        **_index_keys(scope, s),
        **due.keys(scope, "sub", s.id, due_at(s), s.test_clock),
        "entity": "subscription",
        "status": s.status,
        "revision": s.revision,
        "data": json.dumps(data, separators=(",", ":")),
    }


def from_item(scope: Scope, item: dict[str, Any]) -> Subscription:
    data = json.loads(item["data"])
    pending = data.get("pending_change")
    return Subscription(
        id=item["GSI1SK"],
        livemode=scope.livemode,
        customer=data["customer"],
        plan=data["plan"],
        plan_code=data["plan_code"],
        currency=data["currency"],
        status=item["status"],
        start_date=data["start_date"],
        billing_anchor=data["billing_anchor"],
        trial_end=data.get("trial_end"),
        current_period_start=data["current_period_start"],
        current_period_end=data["current_period_end"],
        cancel_at_period_end=data.get("cancel_at_period_end", False),
        canceled_at=data.get("canceled_at"),
        paused_at=data.get("paused_at"),
        coupon=data.get("coupon"),
        add_ons=[_add_on(add_on) for add_on in data.get("add_ons", [])],
        pending_change=_pending(pending) if pending else None,
        metadata=data.get("metadata", {}),
        created_at=data["created_at"],
        test_clock=data.get("test_clock"),
        invoiced_through=data.get("invoiced_through"),
        billed_through=data.get("billed_through"),
        coupon_uses=int(data.get("coupon_uses", 0)),
        revision=int(item["revision"]),
    )


def _add_on_item(add_on: SubscriptionAddOn) -> dict[str, Any]:
    return {
        "add_on": add_on.add_on,
        "add_on_id": add_on.add_on_id,
        "quantity": add_on.quantity,
        "added_at": add_on.added_at,
        "invoiced": add_on.invoiced,
    }


def _add_on(stored: dict[str, Any]) -> SubscriptionAddOn:
    return SubscriptionAddOn(
        add_on=stored["add_on"],
        add_on_id=stored["add_on_id"],
        quantity=int(stored["quantity"]),
        added_at=stored["added_at"],
        invoiced=bool(stored.get("invoiced", False)),  # older items have it only once true
    )


def _pending_item(change: PendingChange) -> dict[str, Any]:
    return {"type": change.type, "plan": change.plan, "effective_at": change.effective_at}


def _pending(stored: dict[str, Any]) -> PendingChange:
    return PendingChange(type=stored["type"], plan=stored.get("plan"), effective_at=stored["effective_at"])


def history_put(scope: Scope, subscription: Subscription, entry: HistoryEntry) -> dict[str, Any]:
    return table.put(history_item(scope, subscription, entry), _NEW)


def history_item(scope: Scope, subscription: Subscription, entry: HistoryEntry) -> dict[str, Any]:
    details = to_jsonable_python(entry.details)
    data = {"at": entry.at, "type": entry.type, "status": entry.status, "plan": entry.plan, "details": details}
    return {
        "PK": _pk(scope, subscription.id),
        "SK": f"HIST#{subscription.revision:010d}",
        "entity": "subscription_history",
        "data": json.dumps(data, separators=(",", ":")),
    }


def history_from_item(item: dict[str, Any]) -> HistoryEntry:
    data = json.loads(item["data"])
    return HistoryEntry(
        at=data["at"], type=data["type"], status=data["status"], plan=data["plan"], details=data.get("details", {})
    )


class DynamoSubscriptionRepository:
    def create(self, scope: Scope, new: NewSubscription) -> None:
        subscription = new.subscription
        operations = [
            table.put(to_item(scope, subscription), _NEW),
            history_put(scope, subscription, new.history),
            *outbox.put_events([new.event]),
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
        return from_item(scope, item) if item else None

    def save(
        self, scope: Scope, subscription: Subscription, revision: int, history: HistoryEntry, event: DomainEvent
    ) -> None:
        operations = [
            table.put(to_item(scope, subscription), "revision = :r", {":r": revision}),
            history_put(scope, subscription, history),
            *outbox.put_events([event]),
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
        return Page(
            data=[from_item(scope, item) for item in items], has_more=cursor is not None, next_starting_after=cursor
        )

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
                entries.append(history_from_item(table.decode(item)))
            if "LastEvaluatedKey" not in response:
                return entries
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
