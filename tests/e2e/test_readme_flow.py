"""The README walkthrough over real HTTP: tenant, customers, and a second tenant locked out."""

from __future__ import annotations

import json
import uuid

import requests

from tests.conftest import Running


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_demo_tenant_has_customers(running: Running) -> None:
    for external_id in ("acme-001", "household-17", "tokyo-42"):
        listed = requests.get(
            f"{running.url}/v1/customers?external_id={external_id}", headers=bearer(running.demo_key), timeout=10
        )
        assert listed.status_code == 200 and listed.headers["X-Request-Id"]
        assert [c["external_id"] for c in listed.json()["data"]] == [external_id]


def test_walkthrough(running: Running) -> None:
    first = json.loads(running.billing("tenant", "create", "--name", "Readme Co", "--json"))
    second = json.loads(running.billing("tenant", "create", "--name", "Nosy Co", "--json"))

    created = requests.post(
        f"{running.url}/v1/customers",
        headers={**bearer(first["api_key"]), "Idempotency-Key": str(uuid.uuid4())},
        json={"external_id": "cust-1", "name": "Jane Doe", "email": "jane@example.com", "currency": "USD"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    customer = created.json()

    listed = requests.get(f"{running.url}/v1/customers", headers=bearer(first["api_key"]), timeout=10).json()
    assert [c["id"] for c in listed["data"]] == [customer["id"]]

    nosy = requests.get(f"{running.url}/v1/customers/{customer['id']}", headers=bearer(second["api_key"]), timeout=10)
    assert nosy.status_code == 404 and nosy.json()["error"]["type"] == "not_found_error"
    assert (
        requests.get(f"{running.url}/v1/customers", headers=bearer(second["api_key"]), timeout=10).json()["data"] == []
    )

    anonymous = requests.get(f"{running.url}/v1/customers", timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "missing_api_key"


def test_tariff_walkthrough(running: Running) -> None:
    key = json.loads(running.billing("tenant", "create", "--name", "Tariff Co", "--json"))["api_key"]

    def post(path: str, body: dict | None = None) -> requests.Response:
        return requests.post(f"{running.url}{path}", headers=bearer(key), json=body or {}, timeout=10)

    assert post("/v1/meters", {"code": "api_calls", "name": "API calls", "aggregation": "count"}).status_code == 201
    tiers = [
        {"up_to": 1000, "unit_amount": "0"},
        {"up_to": 10000, "unit_amount": "0.2"},
        {"up_to": None, "unit_amount": "0.1"},
    ]
    pro = {"code": "pro", "name": "Pro", "currency": "USD", "interval": "month", "base_fee": 4900, "trial_days": 14,
           "charges": [{"meter": "api_calls", "model": "graduated", "tiers": tiers}]}  # fmt: skip
    assert post("/v1/plans", pro).status_code == 201
    starter = {"code": "starter", "name": "Starter", "currency": "USD", "interval": "month", "base_fee": 1900}
    assert post("/v1/plans", starter).status_code == 201
    coupon = {"code": "WELCOME20", "percent_off": "20", "duration": "repeating", "duration_in_periods": 3}
    assert post("/v1/coupons", coupon).status_code == 201
    tax = {"name": "Sales tax CA", "percent": "7.25", "country": "US", "region": "CA"}
    assert post("/v1/tax_rates", tax).status_code == 201

    customer = post("/v1/customers", {"name": "Bob", "address": {"country": "US", "region": "CA"}}).json()["id"]
    sub = post("/v1/subscriptions", {"customer": customer, "plan": "pro", "coupon": "WELCOME20"}).json()
    assert sub["status"] == "trialing" and sub["coupon"] == "WELCOME20"
    changed = post(f"/v1/subscriptions/{sub['id']}/change", {"plan": "starter", "when": "now"}).json()
    assert changed["plan_code"] == "starter"
    canceled = post(f"/v1/subscriptions/{sub['id']}/cancel", {"when": "now"}).json()
    assert canceled["status"] == "canceled"
    refused = post(f"/v1/subscriptions/{sub['id']}/resume")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "invalid_transition"
    history = requests.get(f"{running.url}/v1/subscriptions/{sub['id']}/history", headers=bearer(key), timeout=10)
    assert [h["type"] for h in history.json()["data"]] == ["created", "plan_changed", "canceled"]
