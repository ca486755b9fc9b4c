"""Refunds through the API against the embedded stack: a card payment made on the Stripe
stand-in (localstripe underneath) refunded with ``POST /v1/payments/{id}/refund``, Stripe's
``charge.refunded`` webhook then taking the platform's whole path (intake, queue, processor)
and finding nothing new; an offline payment's refund recorded only."""

from __future__ import annotations

from typing import Any

from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api
from tests.integration.standin_client import open_page, submit
from tests.integration.test_checkout_pages import forms_of, page, post_form, with_stripe
from tests.integration.test_payments_api import balanced_ledger, customer_with_two_invoices, invoice, pay


def refunds(ledger: dict[str, Any]) -> int:
    return [entry["kind"] for entry in ledger["entries"]].count("payment_refunded")


def test_a_card_refund_goes_through_stripe_and_its_webhook_changes_nothing(
    api: Api, key: str, stack: EmbeddedStack, served: str
) -> None:
    """``served``: the API over HTTP, where the account's ``webhook_url`` points."""
    with_stripe(api, key, stack, None)
    _, customer, jan, _ = customer_with_two_invoices(api, key)  # January: 1000 + 500 for water
    link = api.post("/v1/checkout_sessions", key, {"invoice": jan["id"]}).body
    card = forms_of(page(api, link["url"]).raw.decode())["card"]
    stand_in_page = post_form(api, card.action, card.fields).headers["Location"]
    _, forms = open_page(stand_in_page)
    submit(stand_in_page, forms["pay"])
    assert stack.plumbing is not None
    stack.plumbing.drain()
    [payment] = api.get(f"/v1/payments?invoice={jan['id']}", key).body["data"]
    assert (payment["status"], payment["amount_received"], invoice(api, key, jan["id"])["status"]) == (
        "succeeded", 1500, "paid")  # fmt: skip

    path = f"/v1/payments/{payment['id']}/refund"
    refusals = [({"amount": 1501}, 422, "amount"), ({"amount": "600"}, 400, "amount"),
                ({"reason": "x"}, 400, "reason"), ({"credit_note": 1}, 400, "credit_note")]  # fmt: skip
    for body, status, param in refusals:
        refused = api.post(path, key, body)
        assert (refused.status, refused.body["error"]["param"]) == (status, param), body
    assert api.post("/v1/payments/pay_01jqz8v6x5k3m2n1p0r9s8t7w6/refund", key, {}).status == 404

    # 600 with a credit note: the invoice stays paid
    first = api.post(path, key, {"amount": 600, "credit_note": True}, idempotency_key=f"refund-{payment['id']}-1")
    assert first.status == 200, first.body
    assert (first.body["status"], first.body["amount_refunded"]) == ("refunded", 600)
    again = api.post(path, key, {"amount": 600, "credit_note": True}, idempotency_key=f"refund-{payment['id']}-1")
    assert (again.status, again.body) == (200, first.body)  # the stored answer: Stripe is not asked again
    settled = invoice(api, key, jan["id"])
    assert (settled["status"], settled["amount_paid"], settled["amount_credited"], settled["amount_due"]) == (
        "paid", 900, 600, 0)  # fmt: skip
    [note] = api.get(f"/v1/credit_notes?invoice={jan['id']}", key).body["data"]
    assert (note["total"], note["amount_applied"], sorted(line["amount"] for line in note["lines"])) == (
        600, 600, [200, 400])  # fmt: skip

    assert stack.standins is not None
    assert stack.standins.servers["stripe"].deliveries[-1] == ("charge.refunded", 200)  # verified and queued
    stack.plumbing.drain()  # Stripe's charge.refunded: intake, queue, Payments.apply
    assert api.get(f"/v1/payments/{payment['id']}", key).body == first.body
    ledger = balanced_ledger(api, key, customer)
    assert refunds(ledger) == 1
    assert ledger["balances"]["cash:stripe"] == 900 and ledger["balances"]["receivable"] == 1500  # February's

    # the rest without one: January is owed again
    rest = api.post(path, key, {})
    assert (rest.status, rest.body["status"], rest.body["amount_refunded"]) == (200, "refunded", 1500)
    reopened = invoice(api, key, jan["id"])
    assert (reopened["status"], reopened["amount_paid"], reopened["amount_due"]) == ("open", 0, 900)
    stack.plumbing.drain()
    assert api.get(f"/v1/payments/{payment['id']}", key).body["amount_refunded"] == 1500
    ledger = balanced_ledger(api, key, customer)
    assert refunds(ledger) == 2 and ledger["balances"].get("cash:stripe", 0) == 0
    nothing = api.post(path, key, {})
    assert (nothing.status, nothing.body["error"]["code"]) == (422, "payment_already_refunded")


def test_an_offline_refund_is_recorded_and_reopens_the_invoice(api: Api, key: str) -> None:
    _, customer, jan, _ = customer_with_two_invoices(api, key)
    paid = pay(api, key, customer, 1500, invoice=jan["id"]).body
    refunded = api.post(f"/v1/payments/{paid['id']}/refund", key)  # no body: all of it
    assert refunded.status == 200, refunded.body
    assert (refunded.body["status"], refunded.body["amount_refunded"]) == ("refunded", 1500)
    reopened = invoice(api, key, jan["id"])
    assert (reopened["status"], reopened["amount_due"]) == ("open", 1500)
    ledger = balanced_ledger(api, key, customer)
    assert refunds(ledger) == 1 and ledger["balances"].get("cash:offline", 0) == 0
