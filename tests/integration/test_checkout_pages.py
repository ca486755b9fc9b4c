"""The hosted checkout against the embedded stack: checkout sessions through the API, the page
over the local gateway with plain form posts, the Stripe and Whitepay stand-ins' hosted pages
over HTTP. Each test configures the tenant's provider account through the API. The card test
lets the stand-in's webhook take the platform's whole path (intake, queue, processor,
``Payments.apply``); the others register a local receiver at the stand-in instead and apply the
signed events themselves, to deliver them many times at once and out of order."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from billing.adapters import services
from billing.payments.providers import PROVIDERS, Credentials, ProviderEvent
from billing.scope import Scope
from infra.local.stack import EmbeddedStack
from tests.integration import standin_client
from tests.integration.conftest import Api, Reply
from tests.integration.standin_client import Receiver, open_page, submit
from tests.integration.test_payments_api import balanced_ledger, customer_with_two_invoices, invoice

EVIL = "<script>alert(1)</script>"


@pytest.fixture
def endpoint() -> Iterator[Receiver]:
    yield from standin_client.receiver()


def scope_of(key: str) -> Scope:
    return services.tenants().authenticate(f"Bearer {key}")


def connect(api: Api, key: str, stack: EmbeddedStack, provider: str, body: dict[str, str],
            endpoint: Receiver | None) -> Credentials:  # fmt: skip
    """Configure the tenant's account with ``provider`` through the API, and register a webhook
    at its stand-in: the account's own ``webhook_url`` (the platform's intake), or ``endpoint``
    for a test that delivers the signed events itself."""
    account = api.request("PUT", f"/v1/payment_providers/{provider}", key, body)
    assert account.status == 200, account.body
    owner, secret = ("slug", "webhook_token") if provider == "whitepay" else ("api_key", "webhook_secret")
    assert stack.standins is not None
    url = endpoint.url if endpoint else account.body["webhook_url"]
    stack.standins.register_webhook(provider, body[owner], url, body[secret])
    return PROVIDERS[provider].Credentials.model_validate(body)


def with_stripe(api: Api, key: str, stack: EmbeddedStack, endpoint: Receiver | None) -> Credentials:
    body = {"api_key": f"sk_test_{uuid.uuid4().hex}", "webhook_secret": "whsec_local_0001"}
    return connect(api, key, stack, "stripe", body, endpoint)


def with_whitepay(api: Api, key: str, stack: EmbeddedStack, endpoint: Receiver) -> Credentials:
    body = {"slug": f"store-{uuid.uuid4().hex[:8]}", "token": "api-token-0001", "webhook_token": "hook-token-0001"}
    return connect(api, key, stack, "whitepay", body, endpoint)


def path_of(url: str) -> str:
    """The path of one of our absolute links: the in-process gateway takes paths."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def page(api: Api, url: str) -> Reply:
    return api.get(path_of(url))


def post_form(api: Api, action: str, fields: dict[str, str]) -> Reply:
    body = urlencode(fields).encode()
    return api.request("POST", path_of(action), body=body, content_type="application/x-www-form-urlencoded")


def forms_of(html: str) -> dict[str, standin_client.Form]:
    parser = standin_client._Forms()  # the same parser the stand-in tests read forms with
    parser.feed(html.replace("data-method=", "data-action="))
    return parser.forms


def verified(provider: str, credentials: Credentials, endpoint: Receiver, count: int) -> list[ProviderEvent]:
    return [
        PROVIDERS[provider].verify(credentials, delivery.body, delivery.headers, datetime.now(UTC))
        for delivery in endpoint.take(count)
    ]


def test_checkout_sessions_through_the_api_refuse_naming_the_field(api: Api, key: str) -> None:
    _, customer, jan, _ = customer_with_two_invoices(api, key)
    created = api.post("/v1/checkout_sessions", key, {"invoice": jan["id"]})
    assert created.status == 201, created.body
    body = created.body
    assert (body["object"], body["status"], body["amount"], body["customer"]) == (
        "checkout_session", "open", 1500, customer)  # fmt: skip
    assert body["url"].startswith("http://127.0.0.1:") and "/pay/" in body["url"]
    fetched = api.get(f"/v1/checkout_sessions/{body['id']}", key)
    assert fetched.status == 200 and fetched.body == body
    top_up = api.post("/v1/checkout_sessions", key,
                      {"customer": customer, "amount": 500, "currency": "USD", "purpose": "top_up"})  # fmt: skip
    assert top_up.status == 201 and top_up.body["invoice"] is None
    refusals = [
        ({"invoice": "inv_01jqz8v6x5k3m2n1p0r9s8t7w6"}, 400, "invoice"),
        ({"customer": customer, "amount": 500, "currency": "EUR", "purpose": "top_up"}, 422, "currency"),
        ({"customer": customer, "amount": -1, "currency": "USD", "purpose": "top_up"}, 400, "amount"),
        ({"invoice": jan["id"], "customer": customer}, 400, "customer"),
    ]
    for sent, status, param in refusals:
        refused = api.post("/v1/checkout_sessions", key, sent)
        assert (refused.status, refused.body["error"]["param"]) == (status, param), sent
    assert api.get(f"/v1/checkout_sessions/{body['id']}", "sk_test_" + "x" * 40).status == 401
    assert api.get("/v1/checkout_sessions/chk_missing", key).status == 404


def test_pay_an_invoice_by_card_its_webhook_goes_through_intake_queue_and_processor(
    api: Api, key: str, stack: EmbeddedStack, served: str
) -> None:
    """``served``: the API over HTTP, where the account's ``webhook_url`` points."""
    assert api.patch("/v1/settings", key, {"business_name": f"Acme {EVIL}"}).status == 200
    with_stripe(api, key, stack, None)
    _, customer, jan, _ = customer_with_two_invoices(api, key)
    link = api.post("/v1/checkout_sessions", key, {"invoice": jan["id"]}).body

    shown = page(api, link["url"])
    html = shown.raw.decode()
    assert shown.status == 200 and shown.headers["Content-Type"].startswith("text/html")
    assert "script-src" not in shown.headers["Content-Security-Policy"]
    assert shown.headers["Referrer-Policy"] == "no-referrer" and shown.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in html and "Acme &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert jan["number"] in html and "USD 15.00" in html
    card = forms_of(html)["card"]
    assert forms_of(html).keys() == {"card"}

    forged = post_form(api, card.action, {"form_token": "forged"})
    assert forged.status == 400 and "<form" not in forged.raw.decode()
    sent = post_form(api, card.action, card.fields)
    assert sent.status == 303, sent.raw
    assert post_form(api, card.action, card.fields).headers["Location"] == sent.headers["Location"]  # one checkout
    stand_in_page = sent.headers["Location"]
    _, stand_in_forms = open_page(stand_in_page)
    status, back = submit(stand_in_page, stand_in_forms["pay"])
    assert (status, back) == (303, link["url"] + "/return")
    # The stand-in's webhook was verified and queued; the processor has not run yet.
    waiting = page(api, back).raw.decode()
    assert 'data-state="processing"' in waiting and 'http-equiv="refresh"' in waiting  # it asks again

    assert stack.plumbing is not None
    stack.plumbing.drain()  # the provider event processor: Payments.apply, then processed
    assert invoice(api, key, jan["id"])["status"] == "paid"
    done = page(api, back).raw.decode()
    assert 'data-state="paid"' in done and "refresh" not in done
    assert "<form" not in page(api, link["url"]).raw.decode()  # nothing to pay any more
    assert api.get(f"/v1/checkout_sessions/{link['id']}", key).body["status"] == "complete"
    listed = api.get(f"/v1/payments?invoice={jan['id']}", key).body["data"]
    assert [(p["provider"], p["status"], p["checkout_session"]) for p in listed] == [
        ("stripe", "succeeded", link["id"])]  # fmt: skip
    balanced_ledger(api, key, customer)


def test_a_crypto_underpayment_then_the_rest(api: Api, key: str, stack: EmbeddedStack, endpoint: Receiver) -> None:
    credentials = with_whitepay(api, key, stack, endpoint)
    _, customer, jan, _ = customer_with_two_invoices(api, key)
    link = api.post("/v1/checkout_sessions", key, {"invoice": jan["id"]}).body
    crypto = forms_of(page(api, link["url"]).raw.decode())["whitepay"]
    order_page = post_form(api, crypto.action, crypto.fields).headers["Location"]
    _, forms = open_page(order_page)
    assert submit(order_page, forms["pay"], amount="10")[0] == 303
    scope = scope_of(key)
    for event in verified("whitepay", credentials, endpoint, 2):
        services.payments().apply(scope, "whitepay", event)
    assert (invoice(api, key, jan["id"])["status"], invoice(api, key, jan["id"])["amount_due"]) == ("open", 500)
    returned = page(api, link["url"] + "/return").raw.decode()
    assert 'data-state="partially_paid"' in returned and "USD 5.00" in returned

    _, forms = open_page(order_page)  # the order stays open for the rest
    assert submit(order_page, forms["pay"])[0] == 303
    for event in verified("whitepay", credentials, endpoint, 2):
        services.payments().apply(scope, "whitepay", event)
    assert invoice(api, key, jan["id"])["status"] == "paid"
    balanced_ledger(api, key, customer)


def paid_by_card(
    api: Api, key: str, stack: EmbeddedStack, endpoint: Receiver
) -> tuple[Credentials, str, dict[str, Any], ProviderEvent]:
    """A customer's January invoice paid by card on the Stripe stand-in, its signed event caught
    at ``endpoint`` and verified, not applied: (credentials, customer, invoice, event)."""
    credentials = with_stripe(api, key, stack, endpoint)
    _, customer, jan, _ = customer_with_two_invoices(api, key)
    link = api.post("/v1/checkout_sessions", key, {"invoice": jan["id"]}).body
    card = forms_of(page(api, link["url"]).raw.decode())["card"]
    stand_in_page = post_form(api, card.action, card.fields).headers["Location"]
    _, forms = open_page(stand_in_page)
    submit(stand_in_page, forms["pay"])
    (paid,) = verified("stripe", credentials, endpoint, 1)
    return credentials, customer, jan, paid


def test_each_event_five_times_at_once_and_shuffled_leaves_the_ledger_of_the_first(
    api: Api, key: str, stack: EmbeddedStack, endpoint: Receiver
) -> None:
    _, customer, _, paid = paid_by_card(api, key, stack, endpoint)
    scope = scope_of(key)
    first = services.payments().apply(scope, "stripe", paid)
    assert first is not None and first.status == "succeeded"
    after_first = balanced_ledger(api, key, customer)

    deliveries: list[Any] = [paid] * 5 + [
        ProviderEvent(id="evt_x", provider="stripe", type="payment_intent.processing", status="pending",
                      occurred_at=datetime.now(UTC), payment_reference=first.payment_reference),
    ] * 5  # fmt: skip
    random.Random(11).shuffle(deliveries)
    errors: list[BaseException] = []

    def deliver(event: ProviderEvent) -> None:
        try:
            services.payments().apply(scope, "stripe", event)
        except BaseException as failed:
            errors.append(failed)

    threads = [threading.Thread(target=deliver, args=(event,)) for event in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert balanced_ledger(api, key, customer) == after_first
    assert api.get(f"/v1/payments/{first.id}", key).body["status"] == "succeeded"


def test_a_refund_reopens_the_invoice_when_applied_five_times_at_once(
    api: Api, key: str, stack: EmbeddedStack, endpoint: Receiver
) -> None:
    import stripe as stripe_library

    credentials, customer, jan, paid = paid_by_card(api, key, stack, endpoint)
    scope = scope_of(key)
    payment = services.payments().apply(scope, "stripe", paid)
    assert payment is not None and payment.payment_reference

    assert stack.standins is not None
    client = stripe_library.StripeClient(
        credentials.api_key.get_secret_value(),  # type: ignore[attr-defined]
        base_addresses={"api": stack.standins.environment()["STRIPE_API_BASE"]},
    )
    client.v1.refunds.create(params={"payment_intent": payment.payment_reference, "amount": 600})
    (refund,) = verified("stripe", credentials, endpoint, 1)
    threads = [threading.Thread(target=services.payments().apply, args=(scope, "stripe", refund)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    refunded = api.get(f"/v1/payments/{payment.id}", key).body
    assert (refunded["status"], refunded["amount_refunded"]) == ("refunded", 600)
    reopened = invoice(api, key, jan["id"])
    assert (reopened["status"], reopened["amount_paid"], reopened["amount_due"]) == ("open", 900, 600)
    ledger = balanced_ledger(api, key, customer)
    assert [e["kind"] for e in ledger["entries"]].count("payment_refunded") == 1
    assert ledger["balances"]["cash:stripe"] == 900
