"""Reversals the providers' stand-ins report, through the platform's whole path (intake, queue,
``Payments.apply`` confirming from the provider): a card payment's dispute lost on the Stripe
stand-in (a won one changes nothing), and a Whitepay overpayment's excess rolled back to the
payer."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api
from tests.integration.standin_client import open_page, submit
from tests.integration.test_checkout_pages import connect, forms_of, page, post_form, with_stripe
from tests.integration.test_payments_api import balanced_ledger, customer_with_two_invoices, invoice


def stand_in(stack: EmbeddedStack, provider: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A stand-in-only call (what a cardholder or a merchant does at the provider)."""
    assert stack.standins is not None
    call = urllib.request.Request(f"{stack.standins.servers[provider].base_url}{path}",
                                  data=json.dumps(body).encode(), headers={"Content-Type": "application/json"},
                                  method="POST")  # fmt: skip
    with urllib.request.urlopen(call, timeout=30) as answer:
        found: dict[str, Any] = json.loads(answer.read())
    return found


def pay_on_stand_in(api: Api, key: str, invoice_id: str, method: str, **values: str) -> None:
    link = api.post("/v1/checkout_sessions", key, {"invoice": invoice_id}).body
    form = forms_of(page(api, link["url"]).raw.decode())[method]
    provider_page = post_form(api, form.action, form.fields).headers["Location"]
    _, forms = open_page(provider_page)
    assert submit(provider_page, forms["pay"], **values)[0] == 303


def test_a_dispute_lost_on_stripe_reopens_the_invoice_and_a_won_one_changes_nothing(
    api: Api, key: str, stack: EmbeddedStack, served: str
) -> None:
    credentials = with_stripe(api, key, stack, None)
    _, customer, jan, _ = customer_with_two_invoices(api, key)  # January: 1500
    pay_on_stand_in(api, key, jan["id"], "card")
    assert stack.plumbing is not None and stack.standins is not None
    stack.plumbing.drain()
    [payment] = api.get(f"/v1/payments?invoice={jan['id']}", key).body["data"]
    assert (payment["status"], invoice(api, key, jan["id"])["status"]) == ("succeeded", "paid")
    before = balanced_ledger(api, key, customer)

    dispute = {"key": credentials.api_key.get_secret_value(), "payment_intent": payment["payment_reference"]}
    stand_in(stack, "stripe", "/_standin/stripe/disputes", dispute)  # opened: nothing lost yet
    stand_in(stack, "stripe", "/_standin/stripe/disputes", {**dispute, "status": "won"})
    stack.plumbing.drain()
    assert [kind for kind, _ in stack.standins.servers["stripe"].deliveries[-2:]] == [
        "charge.dispute.created", "charge.dispute.closed"]  # fmt: skip
    assert api.get(f"/v1/payments/{payment['id']}", key).body["status"] == "succeeded"
    assert balanced_ledger(api, key, customer) == before

    stand_in(stack, "stripe", "/_standin/stripe/disputes", {**dispute, "status": "lost"})  # the bank reverses it
    stack.plumbing.drain()
    disputed = api.get(f"/v1/payments/{payment['id']}", key).body
    assert (disputed["status"], disputed["amount_refunded"]) == ("disputed", 1500)
    reopened = invoice(api, key, jan["id"])
    assert (reopened["status"], reopened["amount_paid"], reopened["amount_due"]) == ("open", 0, 1500)
    ledger = balanced_ledger(api, key, customer)
    assert [entry["kind"] for entry in ledger["entries"]].count("payment_disputed") == 1
    assert ledger["balances"]["cash:stripe"] == 0


def test_an_overpayment_rolled_back_to_the_payer_takes_its_credit_back(
    api: Api, key: str, stack: EmbeddedStack, served: str
) -> None:
    body = {"slug": "store-rollback", "token": "api-token-0001", "webhook_token": "hook-token-0001"}
    connect(api, key, stack, "whitepay", body, None)
    _, customer, jan, _ = customer_with_two_invoices(api, key)
    pay_on_stand_in(api, key, jan["id"], "whitepay", amount="20")  # 15.00 due: 5.00 too much
    assert stack.plumbing is not None
    stack.plumbing.drain()
    [payment] = api.get(f"/v1/payments?invoice={jan['id']}", key).body["data"]
    assert (payment["status"], payment["amount_received"]) == ("succeeded", 2000)
    assert balanced_ledger(api, key, customer)["balances"]["customer_credit"] == -500

    stand_in(stack, "whitepay", "/_standin/whitepay/rollbacks", {"order": payment["provider_reference"]})
    stack.plumbing.drain()
    returned = api.get(f"/v1/payments/{payment['id']}", key).body
    assert (returned["status"], returned["amount_refunded"]) == ("refunded", 500)
    assert invoice(api, key, jan["id"])["status"] == "paid"
    balances = balanced_ledger(api, key, customer)["balances"]
    assert (balances["cash:whitepay"], balances.get("customer_credit", 0)) == (1500, 0)
