"""Each stand-in driven through our provider module, as the platform will drive it: create the
checkout, pay on the hosted page (plain forms, over HTTP), receive the signed webhook on a
local endpoint, verify it with the module, and check that ``fetch`` tells the same story."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from billing.payments.providers import PROVIDERS, CheckoutRequest, InvalidSignature, ProviderEvent
from infra.local.stack import EmbeddedStack
from infra.local.standins import StandIns
from tests.integration import standin_client
from tests.integration.standin_client import Receiver, open_page, submit

SUCCESS, CANCEL = (
    "https://billing.example/pay/tok/return?session={CHECKOUT_SESSION_ID}",
    "https://billing.example/pay/tok",
)


@pytest.fixture
def standins(stack: EmbeddedStack) -> StandIns:
    assert stack.standins is not None, "the embedded stack starts the stand-ins"
    return stack.standins


@pytest.fixture
def endpoint() -> Iterator[Receiver]:
    yield from standin_client.receiver()


def checkout(amount: int = 1250, description: str = "Invoice 1", save_card: bool = False) -> CheckoutRequest:
    return CheckoutRequest(
        checkout_session=f"chk_{uuid.uuid4().hex[:12]}", invoice="inv_1", amount=amount, currency="USD",
        description=description, customer_email="jane@example.com", success_url=SUCCESS, cancel_url=CANCEL,
        expires_at=datetime.now(UTC) + timedelta(hours=1), save_card=save_card,
    )  # fmt: skip


def verified(provider: str, credentials: object, endpoint: Receiver, count: int) -> list[ProviderEvent]:
    return [
        PROVIDERS[provider].verify(credentials, delivery.body, delivery.headers, datetime.now(UTC))
        for delivery in endpoint.take(count)
    ]


def test_stripe_card_paid_on_the_hosted_page_then_refunded(standins: StandIns, endpoint: Receiver) -> None:
    import stripe as stripe_library

    stripe = PROVIDERS["stripe"]
    key = f"sk_test_{uuid.uuid4().hex}"
    credentials = stripe.Credentials(api_key=key, webhook_secret="whsec_local")
    standins.register_webhook("stripe", key, endpoint.url, "whsec_local")
    request = checkout(description="Invoice <script>alert(1)</script>", save_card=True)
    created = stripe.create_checkout(credentials, request)
    assert stripe.create_checkout(credentials, request).reference == created.reference  # idempotent

    html, forms = open_page(created.url)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html and "12.50" in html
    status, location = submit(created.url, forms["pay"])
    assert (status, location) == (303, SUCCESS.replace("{CHECKOUT_SESSION_ID}", created.reference))

    (paid,) = verified("stripe", credentials, endpoint, 1)
    assert (paid.type, paid.status, paid.amount_received, paid.currency) == (
        "checkout.session.completed",
        "succeeded",
        1250,
        "USD",
    )
    assert (paid.checkout_session, paid.invoice, paid.reference) == (
        request.checkout_session,
        "inv_1",
        created.reference,
    )
    truth = stripe.fetch(credentials, created.reference)
    assert truth is not None and (truth.status, truth.amount_received) == ("succeeded", 1250)
    assert truth.payment_reference == paid.payment_reference and truth.payment_method and truth.customer_reference
    _, forms = open_page(created.url)
    assert forms == {}  # a paid session offers nothing more

    client = stripe_library.StripeClient(key, base_addresses={"api": standins.environment()["STRIPE_API_BASE"]})
    client.v1.refunds.create(params={"payment_intent": str(paid.payment_reference), "amount": 250})
    (refunded,) = verified("stripe", credentials, endpoint, 1)
    assert (refunded.type, refunded.status, refunded.amount_reversed) == ("charge.refunded", "refunded", 250)
    assert refunded.payment_reference == paid.payment_reference
    truth = stripe.fetch(credentials, created.reference)
    assert truth is not None and (truth.status, truth.amount_reversed) == ("refunded", 250)


def test_stripe_declined_card_leaves_the_session_open_until_it_expires(standins: StandIns, endpoint: Receiver) -> None:
    import stripe as stripe_library

    stripe = PROVIDERS["stripe"]
    key = f"sk_test_{uuid.uuid4().hex}"
    credentials = stripe.Credentials(api_key=key, webhook_secret="whsec_local")
    standins.register_webhook("stripe", key, endpoint.url, "whsec_local")
    request = checkout()
    created = stripe.create_checkout(credentials, request)

    _, forms = open_page(created.url)
    assert submit(created.url, forms["decline"]) == (303, CANCEL)
    (declined,) = verified("stripe", credentials, endpoint, 1)
    assert (declined.type, declined.status, declined.checkout_session) == (
        "payment_intent.payment_failed", "failed", request.checkout_session)  # fmt: skip
    truth = stripe.fetch(credentials, created.reference)
    assert truth is not None and truth.status == "pending"  # the customer may try again

    client = stripe_library.StripeClient(key, base_addresses={"api": standins.environment()["STRIPE_API_BASE"]})
    client.v1.checkout.sessions.expire(created.reference)
    (expired,) = verified("stripe", credentials, endpoint, 1)
    assert (expired.type, expired.status) == ("checkout.session.expired", "expired")
    truth = stripe.fetch(credentials, created.reference)
    assert truth is not None and truth.status == "expired"
    assert stripe.fetch(stripe.Credentials(api_key="sk_test_other", webhook_secret="w"), created.reference) is None


def test_whitepay_underpaid_then_paid_in_full(standins: StandIns, endpoint: Receiver) -> None:
    whitepay = PROVIDERS["whitepay"]
    slug = f"store-{uuid.uuid4().hex[:8]}"
    credentials = whitepay.Credentials(slug=slug, token="api-token", webhook_token="hook-token")
    standins.register_webhook("whitepay", slug, endpoint.url, "hook-token")
    request = checkout()
    created = whitepay.create_checkout(credentials, request)

    _, forms = open_page(created.url)
    assert forms["pay"].fields["amount"] == "12.5"  # the full amount by default
    assert submit(created.url, forms["pay"], amount="5") == (303, SUCCESS)
    moved, partial = verified("whitepay", credentials, endpoint, 2)
    assert (moved.type, moved.status, moved.reference) == ("transaction::completed", None, created.reference)
    assert (partial.type, partial.status, partial.amount_received) == (
        "order::partially_fulfilled",
        "partially_paid",
        500,
    )
    assert partial.checkout_session == request.checkout_session
    truth = whitepay.fetch(credentials, created.reference)
    assert truth is not None and (truth.status, truth.amount_received) == ("partially_paid", 500)

    _, forms = open_page(created.url)
    assert forms["pay"].fields["amount"] == "7.5"  # the rest
    assert submit(created.url, forms["pay"]) == (303, SUCCESS)
    _, completed = verified("whitepay", credentials, endpoint, 2)
    assert (completed.type, completed.status, completed.amount_received) == ("order::completed", "succeeded", 1250)
    truth = whitepay.fetch(credentials, created.reference)
    assert truth is not None and (truth.status, truth.amount_received) == ("succeeded", 1250)
    other = whitepay.Credentials(slug=slug, token="someone-else", webhook_token="x")
    assert whitepay.fetch(other, created.reference) is None


def test_whitepay_order_left_to_expire(standins: StandIns, endpoint: Receiver) -> None:
    whitepay = PROVIDERS["whitepay"]
    slug = f"store-{uuid.uuid4().hex[:8]}"
    credentials = whitepay.Credentials(slug=slug, token="api-token", webhook_token="hook-token")
    standins.register_webhook("whitepay", slug, endpoint.url, "hook-token")
    created = whitepay.create_checkout(credentials, checkout())

    _, forms = open_page(created.url)
    assert submit(created.url, forms["expire"]) == (303, CANCEL)
    (declined,) = verified("whitepay", credentials, endpoint, 1)
    assert (declined.type, declined.status, declined.amount_received) == ("order::declined", "expired", 0)
    truth = whitepay.fetch(credentials, created.reference)
    assert truth is not None and truth.status == "expired"


def test_coinbase_commerce_overpaid(standins: StandIns, endpoint: Receiver) -> None:
    coinbase = PROVIDERS["coinbase_commerce"]
    key = f"cb-{uuid.uuid4().hex}"
    credentials = coinbase.Credentials(api_key=key, webhook_secret="shared")
    standins.register_webhook("coinbase_commerce", key, endpoint.url, "shared")
    created = coinbase.create_checkout(credentials, checkout(description="Plan <b>Pro</b>"))

    html, forms = open_page(created.url)
    assert "Plan &lt;b&gt;Pro&lt;/b&gt;" in html and "<b>" not in html
    assert submit(created.url, forms["pay"], amount="15") == (303, SUCCESS)
    pending, confirmed = verified("coinbase_commerce", credentials, endpoint, 2)
    assert (pending.type, pending.status) == ("charge:pending", "pending")
    assert (confirmed.type, confirmed.status, confirmed.amount_received) == ("charge:confirmed", "succeeded", 1500)
    truth = coinbase.fetch(credentials, created.reference)
    assert truth is not None and (truth.status, truth.amount_received, truth.reference) == (
        "succeeded",
        1500,
        created.reference,
    )


def test_coinbase_commerce_underpaid_at_expiry(standins: StandIns, endpoint: Receiver) -> None:
    coinbase = PROVIDERS["coinbase_commerce"]
    key = f"cb-{uuid.uuid4().hex}"
    credentials = coinbase.Credentials(api_key=key, webhook_secret="shared")
    standins.register_webhook("coinbase_commerce", key, endpoint.url, "shared")
    request = checkout()
    created = coinbase.create_checkout(credentials, request)

    _, forms = open_page(created.url)
    assert submit(created.url, forms["pay"], amount="5") == (303, SUCCESS)
    (pending,) = verified("coinbase_commerce", credentials, endpoint, 1)
    assert (pending.status, pending.amount_received) == ("pending", 500)
    _, forms = open_page(created.url)
    assert submit(created.url, forms["expire"]) == (303, CANCEL)
    (failed,) = verified("coinbase_commerce", credentials, endpoint, 1)
    assert (failed.type, failed.status, failed.amount_received, failed.checkout_session) == (
        "charge:failed", "partially_paid", 500, request.checkout_session)  # fmt: skip
    truth = coinbase.fetch(credentials, created.reference)
    assert truth is not None and (truth.status, truth.amount_received) == ("partially_paid", 500)
    assert coinbase.fetch(coinbase.Credentials(api_key="other", webhook_secret="x"), created.reference) is None


def test_a_stand_in_signs_with_the_registered_secret_only(standins: StandIns, endpoint: Receiver) -> None:
    coinbase = PROVIDERS["coinbase_commerce"]
    key = f"cb-{uuid.uuid4().hex}"
    standins.register_webhook("coinbase_commerce", key, endpoint.url, "the-registered-secret")
    credentials = coinbase.Credentials(api_key=key, webhook_secret="another-secret")
    created = coinbase.create_checkout(credentials, checkout())
    _, forms = open_page(created.url)
    submit(created.url, forms["expire"])
    (delivery,) = endpoint.take(1)
    with pytest.raises(InvalidSignature, match="forged"):
        coinbase.verify(credentials, delivery.body, delivery.headers, datetime.now(UTC))
