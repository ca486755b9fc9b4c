"""The README walkthrough over real HTTP: tenant, customers, and a second tenant locked out."""

from __future__ import annotations

import json
import time
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


def test_invoicing_walkthrough(running: Running) -> None:
    key = json.loads(running.billing("tenant", "create", "--name", "Invoice Co", "--json"))["api_key"]
    headers = bearer(key)

    def call(method: str, path: str, body: dict | None = None) -> requests.Response:
        return requests.request(method, f"{running.url}{path}", headers=headers, json=body, timeout=30)

    settings = {"invoice_prefix": "ACME", "payment_terms_days": 30, "business_name": "Acme Streaming Inc."}
    assert call("PATCH", "/v1/settings", settings).json()["invoice_prefix"] == "ACME"
    assert call("POST", "/v1/meters", {"code": "api_calls", "name": "API calls", "aggregation": "count"}).ok
    plan = {"code": "pro", "name": "Pro", "currency": "USD", "interval": "month", "base_fee": 4900,
            "charges": [{"meter": "api_calls", "model": "per_unit", "unit_amount": "2"}]}  # fmt: skip
    assert call("POST", "/v1/plans", plan).status_code == 201
    assert call(
        "POST", "/v1/tax_rates", {"name": "Sales tax CA", "percent": "7.25", "country": "US", "region": "CA"}
    ).ok
    clock = call("POST", "/v1/test_clocks", {"frozen_time": "2026-01-01T00:00:00Z"}).json()["id"]
    customer = call("POST", "/v1/customers", {"name": "Clock Co", "address": {"country": "US", "region": "CA"},
                                              "test_clock": clock}).json()["id"]  # fmt: skip
    sub = call("POST", "/v1/subscriptions", {"customer": customer, "plan": "pro"}).json()["id"]
    assert call("POST", f"/v1/test_clocks/{clock}/advance", {"to": "2026-01-20T00:00:00Z"}).ok
    events = [{"transaction_id": f"jan-{n}", "customer": customer, "code": "api_calls",
               "timestamp": "2026-01-19T10:00:00Z"} for n in range(50)]  # fmt: skip
    assert call("POST", "/v1/events/batch", {"events": events}).json()["accepted"] == 50
    deadline = time.monotonic() + 30  # the aggregator catches up within seconds
    while call("GET", f"/v1/customers/{customer}/usage").json()["meters"][0]["quantity"] != "50":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert call("POST", f"/v1/test_clocks/{clock}/advance", {"to": "2026-02-01T02:00:00Z"}).ok

    second, first = call("GET", f"/v1/invoices?customer={customer}").json()["data"]
    assert (first["number"], second["number"]) == ("ACME-2026-000001", "ACME-2026-000002")
    assert [(line["type"], line["amount"]) for line in second["lines"]] == [
        ("subscription_fee", 4900), ("usage", 100), ("tax", 355 + 7)]  # fmt: skip
    assert second["due_date"] == "2026-03-03T01:00:00Z"  # issued after the hour of grace, due 30 days later
    pdf = requests.get(f"{running.url}/v1/invoices/{second['id']}/pdf", headers=headers, timeout=30)  # Accept: */*
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["Content-Type"] == "application/pdf"

    note = call("POST", "/v1/credit_notes", {"invoice": second["id"], "reason": "billing_error"}).json()
    assert note["total"] == second["total"] and note["number"] == "ACME-CN-2026-000001"
    ledger = call("GET", f"/v1/customers/{customer}/ledger").json()
    assert ledger["balances"]["receivable"] == first["total"]
    assert call("GET", f"/v1/subscriptions/{sub}/change_preview?plan=pro").json()["error"]["code"] == "plan_unchanged"
    basic = {"code": "basic", "name": "Basic", "currency": "USD", "interval": "month", "base_fee": 1900}
    assert call("POST", "/v1/plans", basic).status_code == 201
    preview = call("GET", f"/v1/subscriptions/{sub}/change_preview?plan=basic").json()
    prorations = [line for line in preview["lines"] if line["type"] == "proration"]
    assert [line["amount"] > 0 for line in prorations] == [True]  # February's fee was credited already: no credit
    upcoming = call("GET", f"/v1/customers/{customer}/upcoming_invoice").json()
    assert upcoming["lines"][0] == {**upcoming["lines"][0], "type": "subscription_fee", "amount": 4900}

    out = running.billing("invoices", "run", "--timeout", "240")
    assert "invoice run(s)" in out


def test_the_schedule_billed_the_demo_tenant_at_start(running: Running) -> None:
    deadline, names = time.monotonic() + 60, set()
    while not {"Anna Schmidt", "Sakura Telecom KK"} <= names:  # the first run bills their first fees
        assert time.monotonic() < deadline, names
        time.sleep(0.5)
        url = f"{running.url}/v1/invoices?limit=100"
        listed = requests.get(url, headers=bearer(running.demo_key), timeout=10).json()
        names = {i["customer_details"]["name"] for i in listed["data"] if i["status"] == "draft"}
    numbered = sorted((i["number"][-6:], i["number"]) for i in listed["data"] if i["number"])
    assert [int(n) for n, _ in numbered] == list(range(1, len(numbered) + 1))  # two months of history, gap-free
    assert len(numbered) >= 5 and all(number.startswith("DEMO-") for _, number in numbered)
    vertex = [i for i in listed["data"] if i["customer_details"]["name"] == "Vertex Analytics" and i["number"]]
    assert any(i["total"] < 0 and i["ending_balance"] < 0 for i in vertex)  # the downgrade left customer credit
    assert any(i["applied_balance"] > 0 and i["amount_due"] == 0 for i in vertex)  # which paid a later invoice


def test_payments_walkthrough(running: Running) -> None:
    """README "Payments (offline)": a bank transfer pays the open invoice, the rest is credit."""
    tenant = json.loads(running.billing("tenant", "create", "--name", "Payments Co", "--json"))
    headers = bearer(tenant["api_key"])

    def call(method: str, path: str, body: dict | None = None, **extra: str) -> requests.Response:
        return requests.request(method, f"{running.url}{path}", headers={**headers, **extra}, json=body, timeout=30)

    plan = {"code": "pro", "name": "Pro", "currency": "USD", "interval": "month", "base_fee": 4900}
    assert call("POST", "/v1/plans", plan).status_code == 201
    assert call(
        "POST", "/v1/tax_rates", {"name": "Sales tax CA", "percent": "7.25", "country": "US", "region": "CA"}
    ).ok
    clock = call("POST", "/v1/test_clocks", {"frozen_time": "2026-01-01T00:00:00Z"}).json()["id"]
    customer = call("POST", "/v1/customers", {"name": "Clock Co", "address": {"country": "US", "region": "CA"},
                                              "test_clock": clock}).json()["id"]  # fmt: skip
    assert call("POST", "/v1/subscriptions", {"customer": customer, "plan": "pro", "trial_days": 0}).ok
    assert call("POST", f"/v1/test_clocks/{clock}/advance", {"to": "2026-02-01T02:00:00Z"}).ok
    latest, oldest = call("GET", f"/v1/invoices?customer={customer}").json()["data"]
    assert call("POST", "/v1/credit_notes", {"invoice": latest["id"], "reason": "billing_error"}).ok

    transfer = {"customer": customer, "amount": 6000, "currency": "USD", "channel": "bank_transfer",
                "reference": "SEPA 0001"}  # fmt: skip
    paid = [call("POST", "/v1/payments", transfer, **{"Idempotency-Key": "sepa-2026-02-01-0001"}) for _ in range(2)]
    assert [reply.status_code for reply in paid] == [201, 201] and paid[0].json() == paid[1].json()
    payment = paid[0].json()
    assert payment["allocations"] == [{"invoice": oldest["id"], "supplier": None, "amount": 5255}]
    assert (payment["status"], payment["credited"]) == ("succeeded", 745)
    assert [p["id"] for p in call("GET", f"/v1/payments?customer={customer}").json()["data"]] == [payment["id"]]
    assert len(call("GET", f"/v1/invoices?customer={customer}&status=paid").json()["data"]) == 2
    balance = call("GET", f"/v1/customers/{customer}/balance").json()
    assert (balance["receivable"], balance["customer_credit"]) == (0, 745)
    ledger = call("GET", f"/v1/customers/{customer}/ledger").json()
    [entry] = [e for e in ledger["entries"] if e["kind"] == "payment_received"]
    assert {p["account"]: p["debit"] - p["credit"] for p in entry["postings"]} == {
        "cash:offline": 6000, "receivable": -5255, "customer_credit": -745}  # fmt: skip
    assert "0 problem(s)" in running.billing("ledger", "check", "--tenant", tenant["tenant_id"])


def test_the_demo_customer_paid_by_bank_transfer(running: Running) -> None:
    headers = bearer(running.demo_key)
    found = requests.get(f"{running.url}/v1/customers?external_id=clockwork-01", headers=headers, timeout=10).json()
    olga = found["data"][0]["id"]  # the demo's prepaid household was topped up offline too
    listed = requests.get(f"{running.url}/v1/payments?provider=offline&customer={olga}", headers=headers, timeout=10)
    [payment] = listed.json()["data"]
    assert (payment["channel"], payment["credited"], payment["provider_reference"]) == (
        "bank_transfer", 2500, "SEPA-DEMO-1007")  # fmt: skip
    invoices = requests.get(f"{running.url}/v1/invoices?customer={payment['customer']}", headers=headers, timeout=10)
    assert {i["status"] for i in invoices.json()["data"]} == {"paid"}
    balance = requests.get(f"{running.url}/v1/customers/clockwork-01/balance", headers=headers, timeout=10).json()
    assert (balance["customer"], balance["receivable"], balance["customer_credit"]) == (payment["customer"], 0, 2500)


def test_get_paid_walkthrough(running: Running) -> None:
    """README "Get paid" on the demo data: Northwind Café's two open invoices, one paid by card on
    the Stripe stand-in, the other in crypto on Whitepay's, first too little, then the rest. The
    pages' forms are posted as a browser without scripts would (the Chromium test is
    tests/e2e/test_checkout_browser.py); the running platform's queue workers process the
    stand-ins' webhooks in the background, so each step waits for the invoice to move."""
    from tests.integration.standin_client import open_page, submit
    from tests.integration.test_checkout_pages import forms_of

    headers = bearer(running.demo_key)

    def call(method: str, path: str, body: dict | None = None) -> requests.Response:
        return requests.request(method, f"{running.url}{path}", headers=headers, json=body, timeout=30)

    def pay(link: str, method: str, **values: str) -> str:
        """Choose ``method`` on the link's page, send the stand-in's pay form: where it lands."""
        chosen = forms_of(requests.get(link, timeout=30).text)[method]
        standin_page = submit(link, chosen)[1]
        status, landed = submit(standin_page, open_page(standin_page)[1]["pay"], **values)
        assert status == 303, standin_page
        return landed

    def once(invoice_id: str, amount_due: int) -> dict:
        deadline = time.monotonic() + 60
        while (found := call("GET", f"/v1/invoices/{invoice_id}").json())["amount_due"] != amount_due:
            assert time.monotonic() < deadline, found
            time.sleep(0.3)
        return found

    providers = call("GET", "/v1/payment_providers").json()["data"]
    assert sorted(p["provider"] for p in providers if p["enabled"]) == ["coinbase_commerce", "stripe", "whitepay"]
    northwind = call("GET", "/v1/customers?external_id=northwind-7").json()["data"][0]["id"]
    newer, older = call("GET", f"/v1/invoices?customer={northwind}&status=open").json()["data"]
    assert [(i["total"], i["amount_due"], i["currency"]) for i in (newer, older)] == [(1900, 1900, "USD")] * 2

    card = call("POST", "/v1/checkout_sessions", {"invoice": older["id"]}).json()
    assert pay(card["url"], "card") == card["url"] + "/return"
    assert once(older["id"], 0)["status"] == "paid"
    assert 'data-state="paid"' in requests.get(card["url"] + "/return", timeout=30).text
    assert call("GET", f"/v1/checkout_sessions/{card['id']}").json()["status"] == "complete"
    assert call("POST", "/v1/checkout_sessions", {"invoice": older["id"]}).json()["error"]["code"] == "invoice_paid"

    crypto = call("POST", "/v1/checkout_sessions", {"invoice": newer["id"]}).json()
    assert pay(crypto["url"], "whitepay", amount="10") == crypto["url"] + "/return"
    assert once(newer["id"], 900)["status"] == "open"
    assert 'data-state="partially_paid"' in requests.get(crypto["url"] + "/return", timeout=30).text
    pay(crypto["url"], "whitepay")  # a new order, for the rest
    assert once(newer["id"], 0)["status"] == "paid"

    payments = call("GET", f"/v1/payments?invoice={newer['id']}").json()["data"]
    assert sorted((p["provider"], p["status"], p["amount_received"]) for p in payments) == [
        ("whitepay", "partially_paid", 1000), ("whitepay", "succeeded", 900)]  # fmt: skip
    [by_card] = call("GET", f"/v1/payments?invoice={older['id']}").json()["data"]
    assert (by_card["provider"], by_card["channel"], by_card["status"]) == ("stripe", "card", "succeeded")
    balance = call("GET", f"/v1/customers/{northwind}/balance").json()
    assert (balance["receivable"], balance["customer_credit"]) == (0, 0)
    ledger = call("GET", f"/v1/customers/{northwind}/ledger").json()
    assert {k: v for k, v in ledger["balances"].items() if k.startswith("cash:")} == {
        "cash:stripe": 1900, "cash:whitepay": 1900}  # fmt: skip
    for entry in ledger["entries"]:
        assert sum(p["debit"] for p in entry["postings"]) == sum(p["credit"] for p in entry["postings"]), entry
