"""The subscription transaction's own guards, which hold when the service's checks raced."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from billing.adapters.dynamodb.catalog import DynamoCatalogRepository
from billing.adapters.dynamodb.customers import DynamoCustomerRepository
from billing.adapters.dynamodb.subscriptions import DynamoSubscriptionRepository
from billing.catalog.coupons import Coupon
from billing.catalog.service import CatalogService, create_request, update_request
from billing.customers import CustomerCreate, CustomerService
from billing.errors import BillingError
from billing.events import DomainEvent
from billing.ids import new_id
from billing.scope import Scope
from billing.subscriptions.model import HistoryEntry, Subscription
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
    catalog = CatalogService(DynamoCatalogRepository())
    coupon = cast(
        Coupon,
        catalog.create(
            scope,
            "coupon",
            create_request("coupon", {"code": "ONE", "percent_off": "5", "duration": "once", "max_redemptions": 1}),
        ),
    )
    customer = CustomerService(DynamoCustomerRepository()).create(
        scope, CustomerCreate.model_validate({"currency": "USD"})
    )
    repo = DynamoSubscriptionRepository()
    repo.create(scope, new_subscription(scope, customer.id, coupon=coupon))
    with pytest.raises(BillingError) as refused:
        repo.create(scope, new_subscription(scope, customer.id, coupon=coupon))  # a stale copy that still says 0
    assert refused.value.code == "coupon_exhausted"
    assert cast(Coupon, catalog.find(scope, "coupon", "ONE")).times_redeemed == 1
    renamed = catalog.update(scope, "coupon", coupon.id, update_request("coupon", {"name": "Only one"}))
    assert cast(Coupon, renamed).times_redeemed == 1  # editing the coupon keeps its count
