"""Invoice items, the dunning policy and a customer's debt over the API, on the embedded
endpoint: items billed once (on the next invoice, or at once), exact interest on a test clock."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Api

HOUSING = {
    "steps": [
        {"days_after_due": -3, "action": "reminder"},
        {"days_after_due": 30, "action": "late_fee", "amount": 500},
    ],
    "penalty_interest": {
        "annual_rate": "16",
        "schedule": [{"from_day": 31, "fraction": "1/300"}, {"from_day": 91, "fraction": "1/130"}],
        "cap_percent": None,
    },
}


def item(api: Api, key: str, customer: str, amount: int, **body: Any) -> dict[str, Any]:
    sent = {"customer": customer, "amount": amount, "currency": "RUB", "description": "Meter replacement", **body}
    reply = api.post("/v1/invoice_items", key, sent)
    assert reply.status == 201, reply.body
    created: dict[str, Any] = reply.body
    return created


def test_items_are_billed_once_and_debt_accrues_interest_on_the_principal(api: Api, key: str) -> None:
    plan = {"code": "flat", "name": "Flat", "currency": "RUB", "interval": "year", "base_fee": 1_000_000}
    assert api.post("/v1/plans", key, plan).status == 201
    clock = api.post("/v1/test_clocks", key, {"frozen_time": "2026-03-01T00:00:00Z"}).body["id"]
    customer = api.post("/v1/customers", key, {"name": "Debtor", "currency": "RUB", "test_clock": clock}).body["id"]
    assert api.post("/v1/subscriptions", key, {"customer": customer, "plan": "flat"}).status == 201
    assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-03-01T02:00:00Z"}).status == 200

    pending = item(api, key, customer, 1500)
    assert (pending["invoice"], pending["kind"], pending["created_at"]) == (None, "adjustment", "2026-03-01T02:00:00Z")
    now = item(api, key, customer, 2500, invoice_now=True)
    manual = api.get(f"/v1/invoices/{now['invoice']}", key).body
    assert (manual["billing_reason"], manual["status"], manual["total"]) == ("manual", "open", 2500)
    assert [(line["type"], line["invoice_item"]) for line in manual["lines"]] == [("adjustment", now["id"])]
    listed = api.get(f"/v1/invoice_items?customer={customer}", key).body["data"]
    assert [i["id"] for i in listed] == [now["id"], pending["id"]]
    assert api.get(f"/v1/invoice_items/{pending['id']}", key).body == pending
    assert api.get("/v1/invoice_items/ii_nope", key).status == 404

    refused = api.request("PUT", "/v1/dunning_policy", key, {"penalty_interest": {**HOUSING["penalty_interest"],
                                                                                  "annual_rate": 16}})  # fmt: skip
    assert (refused.status, refused.body["error"]["param"]) == (400, "penalty_interest.annual_rate")
    stored = api.request("PUT", "/v1/dunning_policy", key, HOUSING)
    assert stored.status == 200, stored.body
    assert api.get("/v1/dunning_policy", key).body == stored.body
    assert stored.body["penalty_interest"] == HOUSING["penalty_interest"]

    # 100 days after both invoices fell due (15 March): 1/300 of 16% a day from day 31, 1/130 from day 91
    assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-06-23T12:00:00Z"}).status == 200
    debt = api.get(f"/v1/customers/{customer}/debt", key)
    assert debt.status == 200, debt.body
    rows = {row["invoice"]: row for row in debt.body["invoices"]}
    assert [(r["days_overdue"], r["principal"], r["penalty_interest"]) for r in rows.values()] == [
        (100, 1_000_000, 44_308), (100, 2_500, 111)
    ]  # fmt: skip
    # advancing the clock ran dunning day by day: a late fee per invoice on day 30, and the
    # interest to date on one pending item per invoice
    assert (debt.body["principal"], debt.body["late_fees"], debt.body["penalty_interest"]) == (1_002_500, 1000, 44_419)
    assert debt.body["total"] == 1_047_919 and debt.body["currency"] == "RUB"
    charged = api.get(f"/v1/invoice_items?customer={customer}", key).body["data"]
    assert sorted((i["kind"], i["amount"]) for i in charged if i["kind"] != "adjustment") == [
        ("late_fee", 500), ("late_fee", 500), ("penalty_interest", 111), ("penalty_interest", 44_308)
    ]  # fmt: skip

    # the pending items go on the renewal, and only there; interest as of the day before it
    # (day 350: 16% x (60/300 + 260/130) of each principal)
    assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2027-03-01T02:00:00Z"}).status == 200
    renewal = api.get(f"/v1/invoices?customer={customer}", key).body["data"][0]
    assert sorted((line["type"], line["amount"]) for line in renewal["lines"]) == [
        ("adjustment", 1500), ("late_fee", 500), ("late_fee", 500), ("penalty_interest", 880),
        ("penalty_interest", 352_000), ("subscription_fee", 1_000_000),
    ]  # fmt: skip
    assert api.get(f"/v1/invoice_items/{pending['id']}", key).body["invoice"] == renewal["id"]
    assert api.get(f"/v1/customers/{customer}/debt", key).status == 200


def test_a_customer_without_a_currency_takes_its_first_items_and_archived_ones_take_none(api: Api, key: str) -> None:
    customer = api.post("/v1/customers", key, {"name": "New"}).body["id"]
    item(api, key, customer, 100)
    assert api.get(f"/v1/customers/{customer}", key).body["currency"] == "RUB"
    other = api.post("/v1/invoice_items", key, {"customer": customer, "amount": 1, "currency": "USD",
                                               "description": "x"})  # fmt: skip
    assert (other.status, other.body["error"]["code"]) == (422, "currency_mismatch")
    assert api.delete(f"/v1/customers/{customer}", key).status == 200
    archived = api.post("/v1/invoice_items", key, {"customer": customer, "amount": 1, "currency": "RUB",
                                                  "description": "x"})  # fmt: skip
    assert (archived.status, archived.body["error"]["code"]) == (422, "customer_archived")
    assert api.get(f"/v1/customers/{customer}/debt", key).body["total"] == 0
