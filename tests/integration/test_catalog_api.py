"""The catalog through the HTTP API: every kind, codes, references, versions, tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Api

GRADUATED = {
    "meter": "api_calls",
    "model": "graduated",
    "tiers": [
        {"up_to": 1000, "unit_amount": "0"},
        {"up_to": 10000, "unit_amount": "0.2"},
        {"up_to": None, "unit_amount": "0.1"},
    ],
}

RESOURCES: dict[str, dict[str, Any]] = {
    "meters": {"code": "api_calls", "name": "API calls", "aggregation": "count"},
    "suppliers": {"code": "water", "name": "City Water", "bank_details": {"iban": "DE89370400440532013000"}},
    "plans": {
        "code": "pro",
        "name": "Pro",
        "currency": "USD",
        "interval": "month",
        "base_fee": 4900,
        "charges": [GRADUATED],
    },
    "add_ons": {"code": "support", "name": "Priority support", "amount": 1500, "currency": "USD", "interval": "month"},
    "coupons": {"code": "WELCOME", "percent_off": "20", "duration": "repeating", "duration_in_periods": 3},
    "tax_rates": {"name": "VAT DE", "percent": "19", "inclusive": True, "country": "DE"},
}


def build(api: Api, key: str) -> dict[str, dict[str, Any]]:
    created = {}
    for segment, body in RESOURCES.items():
        reply = api.post(f"/v1/{segment}", key, body)
        assert reply.status == 201, (segment, reply.body)
        created[segment] = reply.body
    return created


def test_every_kind_round_trips(api: Api, key: str) -> None:
    created = build(api, key)
    for segment, obj in created.items():
        assert obj["object"] == segment.removesuffix("s")
        assert api.get(f"/v1/{segment}/{obj['id']}", key).body == obj
        listed = api.get(f"/v1/{segment}", key).body
        assert [o["id"] for o in listed["data"]] == [obj["id"]] and listed["has_more"] is False
    assert created["plans"]["charges"][0]["tiers"][1] == {"up_to": 10000, "unit_amount": "0.2", "flat_amount": 0}
    assert api.get("/v1/coupons?code=WELCOME", key).body["data"][0]["times_redeemed"] == 0


def test_codes_conflict_and_references_must_exist(api: Api, key: str) -> None:
    build(api, key)
    again = api.post("/v1/meters", key, RESOURCES["meters"])
    assert again.status == 409 and again.body["error"]["code"] == "code_taken"
    unknown = {**RESOURCES["plans"], "code": "x", "charges": [{**GRADUATED, "meter": "minutes"}]}
    reply = api.post("/v1/plans", key, unknown)
    assert reply.status == 400 and reply.body["error"]["param"] == "charges[0].meter"
    bad_tiers = {
        **RESOURCES["plans"],
        "code": "y",
        "charges": [{**GRADUATED, "tiers": [{"up_to": 5}, {"up_to": 5}, {"up_to": None}]}],
    }
    reply = api.post("/v1/plans", key, bad_tiers)
    assert reply.status == 400 and reply.body["error"]["param"] == "charges[0].tiers[1].up_to"
    assert [p["code"] for p in api.get("/v1/plans", key).body["data"]] == ["pro"]


def test_plan_price_change_creates_a_version(api: Api, key: str) -> None:
    plan = build(api, key)["plans"]
    renamed = api.patch(f"/v1/plans/{plan['id']}", key, {"name": "Pro 2026"}).body
    assert (renamed["id"], renamed["version"], renamed["name"]) == (plan["id"], 1, "Pro 2026")
    v2 = api.patch(f"/v1/plans/{plan['id']}", key, {"base_fee": 5900})
    assert v2.status == 200 and v2.body["id"] != plan["id"] and v2.body["version"] == 2
    old = api.get(f"/v1/plans/{plan['id']}", key).body
    assert (old["status"], old["superseded_by"], old["base_fee"]) == ("superseded", v2.body["id"], 4900)
    assert api.get("/v1/plans?code=pro", key).body["data"][0]["id"] == v2.body["id"]
    stale = api.patch(f"/v1/plans/{plan['id']}", key, {"base_fee": 1})
    assert stale.status == 422 and stale.body["error"]["code"] == "plan_superseded"


@pytest.mark.parametrize("segment", sorted(RESOURCES))
def test_other_tenants_cannot_reach_catalog_objects(api: Api, key: str, other_key: str, segment: str) -> None:
    obj = build(api, key)[segment]
    path = f"/v1/{segment}/{obj['id']}"
    assert api.get(path, other_key).status == 404
    assert api.patch(path, other_key, {"name": "stolen"}).status == 404
    assert api.get(f"/v1/{segment}", other_key).body["data"] == []
    if "code" in obj:
        assert api.get(f"/v1/{segment}?code={obj['code']}", other_key).body["data"] == []
    if segment == "plans":
        migrate = api.post(f"{path}/migrate", other_key, {"effective_date": "2099-01-01T00:00:00Z"})
        assert migrate.status == 404


def test_customers_name_tax_rates_that_exist(api: Api, key: str, other_key: str) -> None:
    rate = api.post("/v1/tax_rates", key, {"name": "Sales tax CA", "percent": "7.25", "country": "US", "region": "CA"})
    customer = api.post("/v1/customers", key, {"name": "Taxed", "tax_rates": [rate.body["id"]]})
    assert customer.status == 201 and customer.body["tax_rates"] == [rate.body["id"]]
    assert customer.body["tax_exempt"] is False
    exempt = api.patch(f"/v1/customers/{customer.body['id']}", key, {"tax_exempt": True, "tax_rates": []}).body
    assert (exempt["tax_exempt"], exempt["tax_rates"]) == (True, [])
    theirs = api.post("/v1/customers", other_key, {"tax_rates": [rate.body["id"]]})
    assert theirs.status == 400 and theirs.body["error"]["param"] == "tax_rates[0]"


def test_test_and_live_mode_catalogs_and_subscriptions_are_separate(api: Api, tenants: Any) -> None:
    tenant, test = tenants.create_tenant("Two worlds")
    live = tenants.create_key(tenant.id, livemode=True).secret
    meter = api.post("/v1/meters", test.secret, RESOURCES["meters"]).body
    assert meter["livemode"] is False
    assert api.get(f"/v1/meters/{meter['id']}", live).status == 404
    assert api.get("/v1/meters?code=api_calls", live).body["data"] == []
    plan = {"code": "p", "name": "P", "currency": "USD", "interval": "month"}
    assert api.post("/v1/plans", live, {**plan, "charges": [GRADUATED]}).body["error"]["param"] == "charges[0].meter"
    assert api.post("/v1/plans", live, plan).body["livemode"] is True
    customer = api.post("/v1/customers", test.secret, {"name": "Test only"}).body["id"]
    refused = api.post("/v1/subscriptions", live, {"customer": customer, "plan": "p"})
    assert refused.status == 400 and refused.body["error"]["param"] == "customer"
