"""Catalog objects and subscriptions are stored in item shapes of their own (not their public
JSON), read back whole; items stored before as the public JSON are still read (the other
adapters: ``test_stored_shapes.py``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from billing.adapters.dynamodb import catalog as catalog_items
from billing.adapters.dynamodb import subscriptions as subscription_items
from billing.adapters.dynamodb import table
from billing.catalog.kinds import KINDS
from billing.catalog.resource import Entity
from billing.catalog.service import CatalogService, create_request, update_request
from billing.scope import Scope
from billing.subscriptions.model import HistoryEntry, PendingChange, Subscription, SubscriptionAddOn
from tests.unit.clock import FrozenClock
from tests.unit.fakes import MemoryCatalog

SCOPE = Scope("ten_a", livemode=True)
TIERS = [{"up_to": 10, "unit_amount": "1", "flat_amount": 5}, {"up_to": None, "unit_amount": "0.5"}]
BODIES: dict[str, dict[str, Any]] = {
    "supplier": {"code": "water", "name": "Water Co", "email": "a@b.co", "address": {"country": "DE"},
                 "bank_details": {"iban": "DE89370400440532013000"}, "metadata": {"k": "v"}},
    "meter": {"code": "calls", "name": "Calls", "description": "d", "aggregation": "sum", "field": "s",
              "rounding": {"increment": 60, "minimum": 60}, "group_by": ["region"]},
    "plan": {"code": "pro", "name": "Pro", "currency": "USD", "interval": "month", "base_fee": 900, "trial_days": 7,
             "charges": [{"meter": "calls", "model": "graduated", "tiers": TIERS, "supplier": "water",
                          "invoice_display_name": "Calls"},
                         {"meter": "calls", "model": "percentage", "percent": "2.9", "min_amount": 30}]},
    "add_on": {"code": "seat", "name": "Seat", "amount": 500, "currency": "USD", "interval": "month",
               "supplier": "water"},
    "coupon": {"code": "ONE", "name": "One", "percent_off": "10", "duration": "repeating", "duration_in_periods": 3,
               "redeem_by": "2030-01-01T00:00:00Z", "max_redemptions": 5, "applies_to_plans": ["pro"]},
    "tax_rate": {"name": "VAT", "percent": "19", "inclusive": True, "country": "DE", "region": "BY"},
}  # fmt: skip


def stored(item: dict[str, Any]) -> dict[str, Any]:
    """An item as DynamoDB gives it back (numbers as Decimal, None attributes left out)."""
    return table.decode(table.encode(item))


@pytest.fixture(scope="module")
def entities() -> dict[str, Entity]:
    service = CatalogService(MemoryCatalog(), FrozenClock())
    made = {kind: service.create(SCOPE, kind, create_request(kind, body)) for kind, body in BODIES.items()}
    made["plan"] = service.update(SCOPE, "plan", made["plan"].id, update_request("plan", {"base_fee": 1000}))
    made["coupon"] = made["coupon"].model_copy(update={"times_redeemed": 2, "revision": 3})
    return made


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_catalog_objects_read_back_whole_from_their_own_shape(entities: dict[str, Entity], kind: str) -> None:
    entity = entities[kind]
    item = stored(catalog_items.to_item(SCOPE, KINDS[kind], entity))
    kept = json.loads(item["data"])
    assert not {"id", "object", "livemode", "revision", "times_redeemed"} & set(kept)  # key, kind, scope, attributes
    assert catalog_items.from_item(SCOPE, KINDS[kind], item) == entity
    assert catalog_items.from_item(SCOPE, KINDS[kind], item).revision == entity.revision


@pytest.mark.parametrize("kind", sorted(BODIES))
def test_catalog_items_stored_as_public_json_are_still_read(entities: dict[str, Entity], kind: str) -> None:
    entity = entities[kind]
    public = {name: value for name, value in entity.model_dump(mode="json").items() if name != "times_redeemed"}
    older = stored({**catalog_items.to_item(SCOPE, KINDS[kind], entity), "data": json.dumps(public)})
    assert catalog_items.from_item(SCOPE, KINDS[kind], older) == entity


def test_a_charge_keeps_its_model_parameters_apart(entities: dict[str, Entity]) -> None:
    stored = json.loads(catalog_items.to_item(SCOPE, KINDS["plan"], entities["plan"])["data"])["charges"]
    params = {"percent": "2.9", "fixed_amount": 0, "min_amount": 30, "max_amount": None}
    assert stored[1] == {
        "meter": "calls", "model": "percentage", "supplier": None, "invoice_display_name": None, "params": params
    }  # fmt: skip


SUBSCRIPTION = Subscription(
    id="sub_01jqz8v6x5k3m2n1p0r9s8t7w6",
    livemode=True,
    customer="cus_01jqz8v6x5k3m2n1p0r9s8t7w6",
    plan="plan_01jqz8v6x5k3m2n1p0r9s8t7w6",
    plan_code="pro",
    currency="USD",
    status="active",
    start_date="2026-01-01T00:00:00Z",
    billing_anchor="2026-01-01T00:00:00Z",
    trial_end=None,
    current_period_start="2026-02-01T00:00:00Z",
    current_period_end="2026-03-01T00:00:00Z",
    cancel_at_period_end=True,
    coupon="ONE",
    add_ons=[
        SubscriptionAddOn(add_on="seat", add_on_id="addon_1", quantity=3, added_at="2026-01-01T00:00:00Z"),
        SubscriptionAddOn(add_on="setup", add_on_id="addon_2", quantity=1, added_at="2026-01-02T00:00:00Z",
                          invoiced=True),
    ],
    pending_change=PendingChange(type="cancel", effective_at="2026-03-01T00:00:00Z"),
    metadata={"order": "1042"},
    created_at="2026-01-01T00:00:00Z",
    invoiced_through="2026-02-01T00:00:00Z",
    billed_through="2026-03-01T00:00:00Z",
    coupon_uses=1,
    revision=7,
)  # fmt: skip


def test_subscriptions_read_back_whole_from_their_own_shape() -> None:
    item = stored(subscription_items.to_item(SCOPE, SUBSCRIPTION))
    assert not {"id", "object", "livemode", "status"} & set(json.loads(item["data"]))
    read = subscription_items.from_item(SCOPE, item)
    assert read == SUBSCRIPTION and read.revision == 7


def test_subscriptions_stored_as_public_json_are_still_read() -> None:
    older = stored({**subscription_items.to_item(SCOPE, SUBSCRIPTION), "data": SUBSCRIPTION.model_dump_json()})
    assert subscription_items.from_item(SCOPE, older) == SUBSCRIPTION


def test_an_add_on_shows_invoiced_only_once_it_is() -> None:
    shown = SUBSCRIPTION.model_dump(mode="json")["add_ons"]
    assert [sorted(add_on) for add_on in shown] == [
        ["add_on", "add_on_id", "added_at", "quantity"],
        ["add_on", "add_on_id", "added_at", "invoiced", "quantity"],
    ]


def test_history_entries_read_back_whole() -> None:
    details = {"add_on": SUBSCRIPTION.add_ons[0].model_dump(mode="json"), "previous": None}
    entry = HistoryEntry(
        at="2026-01-05T00:00:00Z", type="add_on_added", status="active", plan=SUBSCRIPTION.plan, details=details
    )
    item = stored(subscription_items.history_item(SCOPE, SUBSCRIPTION, entry))
    assert subscription_items.history_from_item(item) == entry
