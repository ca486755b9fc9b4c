"""Offline payments through the HTTP API against the embedded endpoint: a customer on a test
clock with two finalized invoices pays; allocation oldest first and over suppliers, the excess
as customer credit used by the next invoice, the balance and the ledger agreeing, list
filters, refusals that write nothing, an Idempotency-Key replay, and concurrent payments of
one invoice that never pay it twice."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from billing.adapters import services
from tests.integration.conftest import Api, Reply

JAN = "2026-01-01T00:00:00Z"


def customer_with_two_invoices(api: Api, key: str) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
    """A USD customer on a test clock, billed 1000 (the tenant's fee) + 500 (water, billed on a
    supplier's behalf) for January and February, both invoices finalized and open."""
    assert api.post("/v1/suppliers", key, {"code": "water", "name": "Water Works"}).status == 201
    plan = {"code": "basic", "name": "Basic", "currency": "USD", "interval": "month", "base_fee": 1000}
    assert api.post("/v1/plans", key, plan).status == 201
    water = {"code": "water", "name": "Water", "amount": 500, "currency": "USD", "interval": "month",
             "supplier": "water"}  # fmt: skip
    assert api.post("/v1/add_ons", key, water).status == 201
    clock = api.post("/v1/test_clocks", key, {"frozen_time": JAN}).body["id"]
    customer = api.post("/v1/customers", key, {"name": "Payer", "currency": "USD", "test_clock": clock}).body["id"]
    sub = {"customer": customer, "plan": "basic", "add_ons": [{"add_on": "water"}]}
    assert api.post("/v1/subscriptions", key, sub).status == 201
    assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-02-01T02:00:00Z"}).status == 200
    jan, feb = reversed(api.get(f"/v1/invoices?customer={customer}", key).body["data"])
    assert [(i["status"], i["amount_due"]) for i in (jan, feb)] == [("open", 1500), ("open", 1500)]
    return clock, customer, jan, feb


def pay(api: Api, key: str, customer: str, amount: int, **body: Any) -> Reply:
    return api.post(
        "/v1/payments", key, {"customer": customer, "amount": amount, "currency": "USD", "channel": "bank_transfer",
                              **body})  # fmt: skip


def invoice(api: Api, key: str, invoice_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/v1/invoices/{invoice_id}", key).body
    return body


def ids(reply: Reply) -> set[str]:
    assert reply.status == 200, reply.body
    return {payment["id"] for payment in reply.body["data"]}


def balanced_ledger(api: Api, key: str, customer: str) -> dict[str, Any]:
    """The customer's ledger, each entry checked to balance, and its balances checked against
    ``GET /balance`` (which reads the stored balances, not the entries)."""
    ledger: dict[str, Any] = api.get(f"/v1/customers/{customer}/ledger", key).body
    for entry in ledger["entries"]:
        postings = entry["postings"]
        assert sum(p["debit"] for p in postings) == sum(p["credit"] for p in postings), entry
    balance = api.get(f"/v1/customers/{customer}/balance", key)
    assert balance.status == 200, balance.body
    assert balance.body["receivable"] == ledger["balances"].get("receivable", 0)
    assert balance.body["customer_credit"] == -ledger["balances"].get("customer_credit", 0)
    return ledger


def test_a_customer_pays_two_invoices_oldest_first_and_the_rest_is_credit(api: Api, key: str) -> None:
    clock, customer, jan, feb = customer_with_two_invoices(api, key)
    first = pay(api, key, customer, 2000, reference="SEPA-1")
    assert first.status == 201, first.body
    assert (first.body["status"], first.body["provider"], first.body["credited"]) == ("succeeded", "offline", 0)
    assert (first.body["paid_at"], first.body["provider_reference"]) == ("2026-02-01T02:00:00Z", "SEPA-1")
    # January whole; February's 500 split 1000:500 over the tenant's lines and water, to the cent
    split = [(jan["id"], None, 1000), (jan["id"], "water", 500), (feb["id"], None, 333), (feb["id"], "water", 167)]
    assert [(a["invoice"], a["supplier"], a["amount"]) for a in first.body["allocations"]] == split
    paid_jan, open_feb = invoice(api, key, jan["id"]), invoice(api, key, feb["id"])
    assert (paid_jan["status"], paid_jan["amount_paid"], paid_jan["amount_due"]) == ("paid", 1500, 0)
    assert (open_feb["status"], open_feb["amount_paid"], open_feb["amount_due"]) == ("open", 500, 1000)
    assert open_feb["supplier_paid"] == {"": 333, "water": 167}
    balance = api.get(f"/v1/customers/{customer}/balance", key).body
    assert (balance["receivable"], balance["customer_credit"], balance["currency"]) == (1000, 0, "USD")
    assert balance["suppliers"] == [{"supplier": None, "receivable": 667}, {"supplier": "water", "receivable": 333}]

    second = pay(api, key, customer, 1300, paid_at="2026-01-31T12:00:00+01:00", channel="cash_desk")
    assert second.status == 201, second.body
    assert [(a["invoice"], a["amount"]) for a in second.body["allocations"]] == [(feb["id"], 667), (feb["id"], 333)]
    assert (second.body["credited"], second.body["paid_at"]) == (300, "2026-01-31T11:00:00Z")
    assert invoice(api, key, feb["id"])["status"] == "paid"
    ledger = balanced_ledger(api, key, customer)
    assert ledger["balances"]["receivable"] == 0 and ledger["balances"]["cash:offline"] == 3300
    assert api.get(f"/v1/customers/{customer}/balance", key).body["customer_credit"] == 300

    # March's invoice uses the credit when it is finalized
    assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-03-01T02:00:00Z"}).status == 200
    march = api.get(f"/v1/invoices?customer={customer}&limit=1", key).body["data"][0]
    assert (march["applied_balance"], march["amount_due"], march["status"]) == (300, 1200, "open")
    balance = api.get(f"/v1/customers/{customer}/balance", key).body
    assert (balance["receivable"], balance["customer_credit"]) == (1200, 0)
    assert balance["suppliers"] == [{"supplier": None, "receivable": 800}, {"supplier": "water", "receivable": 400}]
    kinds = [entry["kind"] for entry in balanced_ledger(api, key, customer)["entries"]]
    assert Counter(kinds) == {"invoice_finalized": 3, "payment_received": 2}
    assert api.get(f"/v1/payments/{first.body['id']}", key).body == first.body


def test_payments_are_listed_by_customer_invoice_status_and_provider(api: Api, key: str) -> None:
    _, customer, jan, feb = customer_with_two_invoices(api, key)
    other = api.post("/v1/customers", key, {"name": "Other", "currency": "USD"}).body["id"]
    mine = [pay(api, key, customer, 100).body["id"], pay(api, key, customer, 200, invoice=feb["id"]).body["id"]]
    theirs = pay(api, key, other, 300).body["id"]
    assert ids(api.get("/v1/payments?limit=100", key)) == {*mine, theirs}
    assert ids(api.get(f"/v1/payments?customer={customer}", key)) == set(mine)
    assert ids(api.get(f"/v1/payments?invoice={jan['id']}", key)) == {mine[0]}  # first allocated to it
    assert ids(api.get(f"/v1/payments?invoice={feb['id']}&customer={customer}", key)) == {mine[1]}  # made for it
    assert ids(api.get(f"/v1/payments?invoice={feb['id']}&customer={other}", key)) == set()
    assert ids(api.get(f"/v1/payments?status=succeeded&customer={customer}", key)) == set(mine)
    assert ids(api.get("/v1/payments?status=refunded", key)) == set()
    assert ids(api.get("/v1/payments?provider=offline", key)) == {*mine, theirs}
    assert ids(api.get("/v1/payments?provider=stripe", key)) == set()
    page = api.get("/v1/payments?limit=2", key).body
    rest = api.get(f"/v1/payments?limit=2&starting_after={page['next_starting_after']}", key).body
    assert page["has_more"] and not rest["has_more"] and len({p["id"] for p in page["data"] + rest["data"]}) == 3
    for query, param in [("status=lost", "status"), ("customer=Payer", "customer"), ("invoice=x", "invoice"),
                         ("provider=no-such", "provider"), ("limit=0", "limit"), ("colour=red", "colour")]:  # fmt: skip
        refused = api.get(f"/v1/payments?{query}", key)
        assert (refused.status, refused.body["error"]["param"]) == (400, param), query


def test_bad_payments_are_refused_naming_the_field_and_nothing_is_written(api: Api, key: str, other_key: str) -> None:
    _, customer, jan, _ = customer_with_two_invoices(api, key)
    stranger = api.post("/v1/customers", key, {"name": "Stranger", "currency": "USD"}).body["id"]
    ledger_before = api.get(f"/v1/customers/{customer}/ledger", key).body
    refusals: list[tuple[dict[str, Any], int, str, str]] = [
        ({"amount": 0}, 400, "parameter_invalid", "amount"),
        ({"amount": 10.5}, 400, "parameter_invalid", "amount"),
        ({"amount": "100"}, 400, "parameter_invalid", "amount"),
        ({"currency": "usd"}, 400, "parameter_invalid", "currency"),
        ({"channel": "card"}, 400, "parameter_invalid", "channel"),
        ({"paid_at": "2026-02-01"}, 400, "parameter_invalid", "paid_at"),
        ({"paid_at": "2026-03-01T00:00:00Z"}, 400, "parameter_invalid", "paid_at"),  # after the clock's now
        ({"metadata": {"k": "v" * 501}}, 400, "parameter_invalid", "metadata"),
        ({"colour": "red"}, 400, "parameter_unknown", "colour"),
        ({"customer": "cus_01kkrnw4g02kp31g6gkjjhzw2x"}, 400, "resource_missing", "customer"),
        ({"invoice": "inv_01kkrnw4g02kp31g6gkjjhzw2x"}, 400, "resource_missing", "invoice"),
        ({"customer": stranger, "invoice": jan["id"]}, 400, "resource_missing", "invoice"),
        ({"currency": "EUR"}, 422, "currency_mismatch", "currency"),
        ({"currency": "EUR", "invoice": jan["id"]}, 422, "currency_mismatch", "currency"),
    ]
    for change, status, code, param in refusals:
        body = {"customer": customer, "amount": 100, "currency": "USD", "channel": "bank_transfer", **change}
        refused = api.post("/v1/payments", key, body)
        assert refused.status == status, (change, refused.body)
        assert (refused.body["error"]["code"], refused.body["error"]["param"]) == (code, param), change
    assert ids(api.get("/v1/payments", key)) == set()
    assert api.get(f"/v1/customers/{customer}/ledger", key).body == ledger_before
    assert invoice(api, key, jan["id"])["amount_paid"] == 0
    good = pay(api, key, customer, 100)  # the same body, unchanged, is fine
    assert good.status == 201 and invoice(api, key, jan["id"])["amount_paid"] == 100
    # another tenant sees none of it, and unknown ids are 404s naming the path's parameter
    assert api.get(f"/v1/payments/{good.body['id']}", other_key).status == 404
    assert api.get("/v1/payments/pay_01kkrnw4g02kp31g6gkjjhzw2x", key).status == 404
    assert api.get(f"/v1/customers/{customer}/balance", other_key).body["error"]["param"] == "customer_id"
    assert pay(api, other_key, customer, 100).body["error"]["param"] == "customer"


def test_an_idempotency_key_records_a_payment_once(api: Api, key: str) -> None:
    _, customer, jan, _ = customer_with_two_invoices(api, key)
    body = {"customer": customer, "amount": 1500, "currency": "USD", "channel": "terminal", "invoice": jan["id"]}
    first = api.post("/v1/payments", key, body, idempotency_key="till-7-receipt-42")
    again = api.post("/v1/payments", key, body, idempotency_key="till-7-receipt-42")
    assert (first.status, again.status) == (201, 201) and again.body == first.body
    assert ids(api.get(f"/v1/payments?customer={customer}", key)) == {first.body["id"]}
    assert invoice(api, key, jan["id"])["amount_paid"] == 1500
    entries = balanced_ledger(api, key, customer)["entries"]
    assert [e["reference"] for e in entries if e["kind"] == "payment_received"] == [first.body["id"]]
    other = api.post("/v1/payments", key, {**body, "amount": 1}, idempotency_key="till-7-receipt-42")
    assert (other.status, other.body["error"]["code"]) == (409, "idempotency_key_reused")


def test_concurrent_payments_of_one_invoice_never_pay_it_twice(
    api: Api, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two payments of January's 1500 race, one naming the invoice, one paying the oldest open
    invoice (January too). Each waits for the other after reading the invoices, so both read
    January open, and the one that writes second finds it changed: it is allocated again from
    what is stored then (named, its money becomes credit; unnamed, it pays February)."""
    _, customer, jan, feb = customer_with_two_invoices(api, key)
    invoices, first_reads, read = services.payments()._invoices, threading.Barrier(2, timeout=30), set[int]()

    def meet[T](found: T) -> T:
        if threading.get_ident() not in read:  # only the first read of each request: retries go on
            read.add(threading.get_ident())
            first_reads.wait()
        return found

    get, open_of = invoices.get, invoices.open_of
    replies: list[Reply] = []
    threads = [
        threading.Thread(target=lambda body=body: replies.append(pay(api, key, customer, 1500, **body)))
        for body in ({"invoice": jan["id"]}, {})
    ]
    with monkeypatch.context() as patched:
        patched.setattr(invoices, "get", lambda scope, invoice_id: meet(get(scope, invoice_id)))
        patched.setattr(invoices, "open_of", lambda scope, customer_id: meet(open_of(scope, customer_id)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert [reply.status for reply in replies] == [201, 201], [reply.body for reply in replies]
    given: Counter[str] = Counter()
    for reply in replies:
        for allocation in reply.body["allocations"]:
            given[allocation["invoice"]] += allocation["amount"]
    credited = sum(reply.body["credited"] for reply in replies)
    assert given[jan["id"]] == 1500 and sum(given.values()) + credited == 3000
    assert (given[feb["id"]], credited) in ((1500, 0), (0, 1500))  # the loser went on to February, or to credit
    assert (invoice(api, key, jan["id"])["amount_paid"], invoice(api, key, jan["id"])["status"]) == (1500, "paid")
    assert invoice(api, key, feb["id"])["amount_paid"] == given[feb["id"]]
    ledger = balanced_ledger(api, key, customer)
    assert ledger["balances"]["cash:offline"] == 3000
    assert ledger["balances"]["receivable"] == 3000 - sum(given.values())  # what February still asks for
    assert -ledger["balances"].get("customer_credit", 0) == credited


def test_a_customer_without_a_currency_takes_its_first_payments(api: Api, key: str) -> None:
    customer = api.post("/v1/customers", key, {"name": "No currency yet"}).body
    assert customer["currency"] is None
    paid = api.post("/v1/payments", key, {"customer": customer["id"], "amount": 900, "currency": "EUR",
                                          "channel": "other"})  # fmt: skip
    assert (paid.status, paid.body["credited"]) == (201, 900), paid.body
    assert api.get(f"/v1/customers/{customer['id']}", key).body["currency"] == "EUR"
    plan = {"code": "usd", "name": "Dollars", "currency": "USD", "interval": "month", "base_fee": 100}
    assert api.post("/v1/plans", key, plan).status == 201
    refused = api.post("/v1/subscriptions", key, {"customer": customer["id"], "plan": "usd"})
    assert (refused.status, refused.body["error"]["code"]) == (422, "currency_mismatch")  # euros never pay dollars
    assert api.get(f"/v1/customers/{customer['id']}/balance", key).body["customer_credit"] == 900
