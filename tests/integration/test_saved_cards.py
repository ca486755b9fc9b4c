"""Saved cards against the embedded stack: a first invoice paid on the hosted page with "Save
this card" ticked (plain form posts, the Stripe stand-in's page over HTTP, its webhook through
the platform's intake, queue and processor), the card shown on the customer; the next invoice,
finalized by the test clock, charged off-session and paid with no page visited
(``InvoiceFinalized`` -> bus rule -> ``InvoiceChargeQueue`` -> ``functions/invoice_charges``);
then a declined off-session charge recorded failed; then the card forgotten."""

from __future__ import annotations

from typing import Any

from billing.adapters import services
from infra.local.stack import EmbeddedStack
from infra.local.standins.stripe import decline_off_session
from tests.integration.conftest import Api
from tests.integration.standin_client import open_page, submit
from tests.integration.test_checkout_pages import forms_of, page, post_form, scope_of, with_stripe
from tests.integration.test_payments_api import balanced_ledger, customer_with_two_invoices, invoice


def drain(stack: EmbeddedStack) -> None:
    assert stack.plumbing is not None
    stack.plumbing.drain()


def payments_of(api: Api, key: str, invoice_id: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = api.get(f"/v1/payments?invoice={invoice_id}", key).body["data"]
    return listed


def latest_invoice(api: Api, key: str, customer: str) -> dict[str, Any]:
    found: dict[str, Any] = api.get(f"/v1/invoices?customer={customer}&limit=1", key).body["data"][0]
    return found


def test_a_card_saved_on_the_hosted_page_pays_the_next_invoices_off_session(
    api: Api, key: str, stack: EmbeddedStack, served: str
) -> None:
    credentials = with_stripe(api, key, stack, None)
    clock, customer, jan, _ = customer_with_two_invoices(api, key)
    drain(stack)  # their InvoiceFinalized: no card yet, nothing charged
    assert api.get(f"/v1/customers/{customer}", key).body["default_payment_method"] is None
    assert payments_of(api, key, jan["id"]) == []

    link = api.post("/v1/checkout_sessions", key, {"invoice": jan["id"]}).body
    html = page(api, link["url"]).raw.decode()
    assert 'type="checkbox" name="save_card"' in html and "Save this card for future invoices" in html
    card = forms_of(html)["card"]
    assert "save_card" not in card.fields  # unticked, as a browser leaves it
    sent = post_form(api, card.action, {**card.fields, "save_card": "1"})
    assert sent.status == 303, sent.raw
    stand_in_page = sent.headers["Location"]
    _, stand_in_forms = open_page(stand_in_page)
    assert submit(stand_in_page, stand_in_forms["pay"])[0] == 303
    drain(stack)  # checkout.session.completed: Payments.apply settles the invoice and saves the card
    assert invoice(api, key, jan["id"])["status"] == "paid"
    shown = api.get(f"/v1/customers/{customer}", key).body
    assert shown["default_payment_method"] == {"provider": "stripe", "brand": "visa", "last4": "4242"}
    (first,) = payments_of(api, key, jan["id"])
    assert (first["save_card"], first["off_session"]) == (True, False)

    # March: finalized by the clock, charged to the saved card with no page visited
    assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-03-01T02:00:00Z"}).status == 200
    drain(stack)
    march = latest_invoice(api, key, customer)
    assert march["id"] not in (jan["id"],) and march["number"]
    assert (march["status"], march["amount_paid"], march["amount_due"]) == ("paid", 1500, 0)
    (charged,) = payments_of(api, key, march["id"])
    assert (charged["provider"], charged["status"], charged["off_session"], charged["amount_received"]) == (
        "stripe", "succeeded", True, 1500)  # fmt: skip
    assert charged["provider_reference"].startswith("pi_") and charged["checkout_session"] is None
    drain(stack)  # the event again (a redelivery) and the webhook: nothing more
    assert payments_of(api, key, march["id"]) == [charged]

    # April: the bank declines; the payment is failed with the reason, the invoice stays open
    saved = services.customers().get(scope_of(key), customer).default_payment_method
    assert saved is not None
    assert stack.standins is not None
    stripe_base = stack.standins.environment()["STRIPE_API_BASE"]
    decline_off_session(stripe_base, credentials.api_key.get_secret_value(), saved.customer_reference)  # type: ignore[attr-defined]
    assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-04-01T02:00:00Z"}).status == 200
    drain(stack)
    april = latest_invoice(api, key, customer)
    assert (april["status"], april["amount_due"]) == ("open", 1500)
    (declined,) = payments_of(api, key, april["id"])
    assert (declined["status"], declined["off_session"], declined["failure_code"]) == (
        "failed", True, "insufficient_funds")  # fmt: skip
    assert declined["failure_message"] and declined["amount_received"] == 0
    balanced_ledger(api, key, customer)

    # forgotten: May is not charged
    forgotten = api.delete(f"/v1/customers/{customer}/payment_method", key)
    assert forgotten.status == 200 and forgotten.body["default_payment_method"] is None
    assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-05-01T02:00:00Z"}).status == 200
    drain(stack)
    may = latest_invoice(api, key, customer)
    assert may["status"] == "open" and payments_of(api, key, may["id"]) == []
    assert api.delete("/v1/customers/cus_01jqz8v6x5k3m2n1p0r9s8t7w6/payment_method", key).status == 404
