"""Subscriptions through the HTTP API: the README flow, rules, history, isolation."""

from __future__ import annotations

from typing import Any

import pytest

from billing.subscriptions import migrations
from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api


def tariff(api: Api, key: str) -> None:
    for segment, body in [
        ("meters", {"code": "api_calls", "name": "API calls", "aggregation": "count"}),
        ("plans", {"code": "starter", "name": "Starter", "currency": "USD", "interval": "month", "base_fee": 1900}),
        ("plans", {"code": "pro", "name": "Pro", "currency": "USD", "interval": "month", "base_fee": 4900,
                   "trial_days": 14, "charges": [{"meter": "api_calls", "model": "per_unit", "unit_amount": "0.1"}]}),
        ("plans", {"code": "euro", "name": "Euro", "currency": "EUR", "interval": "month"}),
        ("coupons", {"code": "ONCE", "amount_off": 500, "currency": "USD", "duration": "once", "max_redemptions": 1}),
        ("add_ons", {"code": "support", "name": "Support", "amount": 1500, "currency": "USD", "interval": "month"}),
    ]:  # fmt: skip
        assert api.post(f"/v1/{segment}", key, body).status == 201


def subscribe(api: Api, key: str, **fields: Any) -> Any:
    customer = fields.pop("customer", None) or api.post("/v1/customers", key, {"name": "Sub"}).body["id"]
    return api.post("/v1/subscriptions", key, {"customer": customer, "plan": "starter", **fields})


def test_subscribe_change_and_cancel(api: Api, key: str) -> None:
    tariff(api, key)
    created = subscribe(api, key, coupon="ONCE", add_ons=[{"add_on": "support"}], metadata={"crm": "7"})
    assert created.status == 201, created.body
    sub = created.body
    assert (sub["status"], sub["plan_code"], sub["coupon"], sub["currency"]) == ("active", "starter", "ONCE", "USD")
    assert api.get(f"/v1/customers/{sub['customer']}", key).body["currency"] == "USD"
    assert api.get("/v1/coupons?code=ONCE", key).body["data"][0]["times_redeemed"] == 1
    exhausted = subscribe(api, key, coupon="ONCE")
    assert exhausted.status == 422 and exhausted.body["error"]["code"] == "coupon_exhausted"

    path = f"/v1/subscriptions/{sub['id']}"
    changed = api.post(f"{path}/change", key, {"plan": "pro", "when": "now"}).body
    assert changed["plan_code"] == "pro" and changed["status"] == "active"
    wrong = api.post(f"{path}/change", key, {"plan": "euro"})
    assert wrong.status == 422 and wrong.body["error"]["code"] == "currency_mismatch"
    assert api.post(f"{path}/pause", key).body["status"] == "paused"
    assert api.post(f"{path}/resume", key).body["status"] == "active"
    assert api.delete(f"{path}/add_ons/support", key).body["add_ons"] == []
    canceled = api.post(f"{path}/cancel", key, {"when": "now"}).body
    assert canceled["status"] == "canceled" and canceled["canceled_at"]
    refused = api.post(f"{path}/resume", key)
    assert refused.status == 409 and refused.body["error"]["code"] == "invalid_transition"

    history = api.get(f"{path}/history", key).body["data"]
    assert [h["type"] for h in history] == [
        "created",
        "plan_changed",
        "paused",
        "resumed",
        "add_on_removed",
        "canceled",
    ]
    assert all(h["at"] for h in history)
    assert history[1]["details"]["previous_plan"] == sub["plan"]


def test_trial_and_scheduled_changes(api: Api, key: str) -> None:
    tariff(api, key)
    trial = subscribe(api, key, plan="pro").body
    assert trial["status"] == "trialing" and trial["trial_end"] == trial["current_period_end"]
    scheduled = api.post(f"/v1/subscriptions/{trial['id']}/cancel", key, {"when": "period_end"}).body
    assert scheduled["cancel_at_period_end"] is True
    assert scheduled["pending_change"] == {"type": "cancel", "plan": None, "effective_at": trial["current_period_end"]}


def test_lists_filter_by_customer_status_and_plan(api: Api, key: str) -> None:
    tariff(api, key)
    customer = api.post("/v1/customers", key, {"name": "Many"}).body["id"]
    first = subscribe(api, key, customer=customer).body
    second = subscribe(api, key, customer=customer, plan="pro").body
    subscribe(api, key)
    api.post(f"/v1/subscriptions/{first['id']}/cancel", key, {})
    by_customer = api.get(f"/v1/subscriptions?customer={customer}", key).body["data"]
    assert sorted(s["id"] for s in by_customer) == sorted([first["id"], second["id"]])
    assert [s["id"] for s in api.get(f"/v1/subscriptions?customer={customer}&status=canceled", key).body["data"]] == [
        first["id"]
    ]
    assert [s["id"] for s in api.get("/v1/subscriptions?plan=pro", key).body["data"]] == [second["id"]]
    assert len(api.get("/v1/subscriptions", key).body["data"]) == 3


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"customer": "cus_01aaaaaaaaaaaaaaaaaaaaaaaa", "plan": "starter"}, 400, "customer"),
        ({"plan": "nope"}, 400, "plan"),
        ({"plan": "starter", "start_date": "2026-13-01"}, 400, "start_date"),
        ({"plan": "starter", "colour": "red"}, 400, "colour"),
        ({"plan": "euro", "coupon": "ONCE"}, 422, "coupon"),
    ],
)
def test_bad_requests_name_the_field(api: Api, key: str, body: dict[str, Any], status: int, param: str) -> None:
    tariff(api, key)
    reply = subscribe(api, key, **body)
    assert reply.status == status and reply.body["error"]["param"] == param
    assert api.get("/v1/subscriptions", key).body["data"] == []


def test_other_tenants_cannot_reach_subscriptions(api: Api, key: str, other_key: str) -> None:
    tariff(api, key)
    sub = subscribe(api, key).body
    path = f"/v1/subscriptions/{sub['id']}"
    for reply in (
        api.get(path, other_key),
        api.patch(path, other_key, {"metadata": {}}),
        api.get(f"{path}/history", other_key),
        api.post(f"{path}/change", other_key, {"plan": "pro"}),
        api.post(f"{path}/cancel", other_key, {}),
        api.post(f"{path}/pause", other_key),
        api.post(f"{path}/resume", other_key),
        api.post(f"{path}/add_ons", other_key, {"add_on": "support"}),
        api.delete(f"{path}/add_ons/support", other_key),
    ):
        assert reply.status == 404, reply.body
    assert api.get(f"/v1/subscriptions?customer={sub['customer']}", other_key).body["data"] == []
    other_customer = api.post("/v1/customers", other_key, {"name": "Theirs"}).body["id"]
    assert api.post("/v1/subscriptions", key, {"customer": other_customer, "plan": "starter"}).status == 400
    assert api.get(path, key).body["status"] == "active"


def test_tariff_migration_reaches_every_subscription_through_the_queue(
    stack: EmbeddedStack, api: Api, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(migrations, "PAGE_SIZE", 2)  # three pages: the worker re-enqueues itself
    tariff(api, key)
    subs = [subscribe(api, key).body for _ in range(5)]
    old = api.get("/v1/plans?code=starter", key).body["data"][0]
    new = api.patch(f"/v1/plans/{old['id']}", key, {"base_fee": 2500}).body
    stale = api.post(f"/v1/plans/{old['id']}/migrate", key, {"effective_date": "2099-01-01T00:00:00Z"})
    assert stale.status == 422 and stale.body["error"]["code"] == "plan_superseded"
    past = api.post(f"/v1/plans/{new['id']}/migrate", key, {"effective_date": "2020-01-01T00:00:00Z"})
    assert past.status == 422 and past.body["error"]["param"] == "effective_date"

    started = api.post(f"/v1/plans/{new['id']}/migrate", key, {"effective_date": "2099-01-01T00:00:00Z"})
    assert started.status == 202 and started.body["status"] == "scheduled"
    assert stack.plumbing is not None
    stack.plumbing.drain()

    for sub in subs:
        after = api.get(f"/v1/subscriptions/{sub['id']}", key).body
        assert after["plan"] == old["id"]  # still billed on the old version until the date
        assert after["pending_change"] == {
            "type": "tariff_change",
            "plan": new["id"],
            "effective_at": "2099-01-01T00:00:00Z",
        }
        history = api.get(f"/v1/subscriptions/{sub['id']}/history", key).body["data"]
        assert [h["type"] for h in history] == ["created", "tariff_change_scheduled"]


def test_a_migrated_subscription_on_a_test_clock_keeps_the_clock_time(stack: EmbeddedStack, api: Api, key: str) -> None:
    """The migration worker is wired like every other function: a subscription on a test
    clock gets its history entry and event at the clock's time, not the wall clock's."""
    tariff(api, key)
    clock = api.post("/v1/test_clocks", key, {"frozen_time": "2026-01-01T00:00:00Z"}).body["id"]
    customer = api.post("/v1/customers", key, {"name": "On a clock", "test_clock": clock}).body["id"]
    sub = subscribe(api, key, customer=customer).body
    old = api.get("/v1/plans?code=starter", key).body["data"][0]
    new = api.patch(f"/v1/plans/{old['id']}", key, {"base_fee": 2500}).body
    started = api.post(f"/v1/plans/{new['id']}/migrate", key, {"effective_date": "2099-01-01T00:00:00Z"})
    assert started.status == 202, started.body
    assert stack.plumbing is not None
    stack.plumbing.drain()
    history = api.get(f"/v1/subscriptions/{sub['id']}/history", key).body["data"]
    scheduled = [h for h in history if h["type"] == "tariff_change_scheduled"]
    assert [h["at"] for h in scheduled] == ["2026-01-01T00:00:00Z"]
