"""The subscription transaction's own guards, which hold when the service's checks raced."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from billing.adapters.dynamodb import catalog as catalog_items
from billing.adapters.dynamodb import subscriptions as subscription_items
from billing.adapters.dynamodb import table
from billing.adapters.dynamodb.catalog import DynamoCatalogRepository
from billing.adapters.dynamodb.customers import DynamoCustomerRepository
from billing.adapters.dynamodb.subscriptions import DynamoSubscriptionRepository
from billing.catalog.kinds import KINDS
from billing.catalog.lookups import CatalogLookups
from billing.catalog.service import CatalogService, create_request, update_request
from billing.customers import CustomerCreate, CustomerService
from billing.errors import BillingError
from billing.events import DomainEvent
from billing.ids import new_id
from billing.scope import Scope
from billing.subscriptions.model import HistoryEntry, Subscription, SubscriptionAddOn
from billing.subscriptions.service import NewSubscription
from infra.local.stack import EmbeddedStack

NOW = datetime(2026, 1, 15, tzinfo=UTC)


def new_subscription(scope: Scope, customer: str, currency: str = "USD", **extra: Any) -> NewSubscription:
    subscription = Subscription(
        id=new_id("sub"), livemode=False, customer=customer, plan="plan_x", plan_code="x", currency=currency,
        status="active", start_date="2026-01-15T00:00:00Z", billing_anchor="2026-01-15T00:00:00Z", trial_end=None,
        current_period_start="2026-01-15T00:00:00Z", current_period_end="2026-02-15T00:00:00Z",
        created_at="2026-01-15T00:00:00Z",
    )  # fmt: skip
    history = HistoryEntry(at="2026-01-15T00:00:00Z", type="created", status="active", plan="plan_x")
    event = DomainEvent(type="SubscriptionCreated", scope=scope, occurred_at=NOW, data={})
    return NewSubscription(subscription=subscription, history=history, event=event, **extra)


@pytest.fixture
def scope(stack: EmbeddedStack) -> Scope:
    return Scope(new_id("ten"), livemode=False)


def test_an_archived_customer_or_another_currency_refuses_the_write(scope: Scope) -> None:
    customers, repo = CustomerService(DynamoCustomerRepository()), DynamoSubscriptionRepository()
    archived = customers.create(scope, CustomerCreate.model_validate({"currency": "USD"}))
    customers.archive(scope, archived.id)
    euro = customers.create(scope, CustomerCreate.model_validate({"currency": "EUR"}))
    for customer, currency in [(archived.id, "USD"), (euro.id, "USD")]:
        new = new_subscription(scope, customer, currency)
        with pytest.raises(BillingError) as refused:
            repo.create(scope, new)
        assert refused.value.code == "concurrent_update"
        assert repo.get(scope, new.subscription.id) is None


def test_the_first_subscription_sets_the_currency_once(scope: Scope) -> None:
    customers, repo = CustomerService(DynamoCustomerRepository()), DynamoSubscriptionRepository()
    customer = customers.create(scope, CustomerCreate.model_validate({}))
    repo.create(scope, new_subscription(scope, customer.id, set_customer_currency=True))
    assert customers.get(scope, customer.id).currency == "USD"
    repo.create(scope, new_subscription(scope, customer.id))  # same currency: fine
    with pytest.raises(BillingError):
        repo.create(scope, new_subscription(scope, customer.id, "EUR", set_customer_currency=True))


def test_the_coupon_limit_holds_in_the_transaction(scope: Scope) -> None:
    catalog, lookups = CatalogService(DynamoCatalogRepository()), CatalogLookups(DynamoCatalogRepository())
    body = {"code": "ONE", "percent_off": "5", "duration": "once", "max_redemptions": 1}
    catalog.create(scope, "coupon", create_request("coupon", body))
    coupon = lookups.coupon(scope, "ONE")
    assert coupon is not None
    customer = CustomerService(DynamoCustomerRepository()).create(
        scope, CustomerCreate.model_validate({"currency": "USD"})
    )
    repo = DynamoSubscriptionRepository()
    repo.create(scope, new_subscription(scope, customer.id, coupon=coupon))
    with pytest.raises(BillingError) as refused:
        repo.create(scope, new_subscription(scope, customer.id, coupon=coupon))  # a stale copy that still says 0
    assert refused.value.code == "coupon_exhausted"
    assert lookups.coupon(scope, "ONE").times_redeemed == 1  # type: ignore[union-attr]
    catalog.update(scope, "coupon", coupon.id, update_request("coupon", {"name": "Only one"}))
    assert lookups.coupon(scope, "ONE").times_redeemed == 1  # type: ignore[union-attr]  # editing keeps its count


def _public_json_in_data(item: dict[str, Any], public: dict[str, Any]) -> None:
    """Store ``data`` as items were written before the adapters had shapes of their own."""
    table.client().update_item(
        TableName=table.table_name(),
        Key=table.encode({"PK": item["PK"], "SK": item["SK"]}),
        UpdateExpression="SET #data = :data",
        ExpressionAttributeNames={"#data": "data"},
        ExpressionAttributeValues=table.encode({":data": json.dumps(public)}),
    )


def test_items_stored_as_public_json_are_still_read(scope: Scope) -> None:
    catalog, lookups = CatalogService(DynamoCatalogRepository()), CatalogLookups(DynamoCatalogRepository())
    catalog.create(scope, "meter", create_request("meter", {"code": "calls", "name": "Calls", "aggregation": "count"}))
    body = {"code": "pro", "name": "Pro", "currency": "USD", "interval": "month",
            "charges": [{"meter": "calls", "model": "per_unit", "unit_amount": "0.5", "free_units": 10}]}  # fmt: skip
    plan = catalog.create(scope, "plan", create_request("plan", body))
    _public_json_in_data(catalog_items.to_item(scope, KINDS["plan"], plan), plan.model_dump(mode="json"))
    assert lookups.find_plan(scope, "pro") == plan
    renamed = catalog.update(scope, "plan", plan.id, update_request("plan", {"name": "Pro 2026"}))
    assert lookups.find_plan(scope, "pro") == renamed  # written back in the adapter's own shape

    customer = CustomerService(DynamoCustomerRepository()).create(
        scope, CustomerCreate.model_validate({"currency": "USD"})
    )
    repo = DynamoSubscriptionRepository()
    new = new_subscription(scope, customer.id)
    subscription = new.subscription.model_copy(update={"add_ons": [
        SubscriptionAddOn(add_on="seat", add_on_id="addon_1", quantity=2, added_at="2026-01-15T00:00:00Z")
    ]})  # fmt: skip
    repo.create(scope, replace(new, subscription=subscription))
    _public_json_in_data(subscription_items.to_item(scope, subscription), subscription.model_dump(mode="json"))
    assert repo.get(scope, subscription.id) == subscription
