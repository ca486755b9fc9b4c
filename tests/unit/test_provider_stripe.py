"""The Stripe provider module: its signature matrix (the ``stripe`` library checks the
signatures, we the tolerance against the given clock) and its status table, on worked events."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe as stripe_library

from billing.payments.providers import InvalidSignature, stripe

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET, OLD_SECRET = "whsec_current", "whsec_previous"
CREDENTIALS = stripe.Credentials(api_key="sk_test_1", webhook_secret=SECRET)


def signed(body: bytes, *secrets: str, at: datetime = NOW) -> dict[str, str]:
    """A Stripe-Signature header with one v1 per secret, as Stripe signs while a secret rolls."""
    stamp = int(at.timestamp())
    sign = stripe_library.WebhookSignature._compute_signature
    v1 = ",".join(f"v1={sign(f'{stamp}.{body.decode()}', secret)}" for secret in secrets)
    return {"Stripe-Signature": f"t={stamp},{v1}"}


def event(kind: str, obj: dict[str, Any]) -> bytes:
    payload = {"id": "evt_1", "object": "event", "type": kind, "created": int(NOW.timestamp()), "data": {"object": obj}}
    return json.dumps(payload, indent=2).encode()


SESSION = {
    "id": "cs_test_1", "object": "checkout.session", "status": "complete", "payment_status": "paid",
    "amount_total": 1250, "currency": "usd", "payment_intent": "pi_1", "customer": "cus_1",
    "client_reference_id": "chk_1", "metadata": {"checkout_session": "chk_1", "invoice": "inv_1"},
}  # fmt: skip
BODY = event("checkout.session.completed", SESSION)


def test_a_signed_completed_session_is_a_succeeded_payment() -> None:
    verified = stripe.verify(CREDENTIALS, BODY, signed(BODY, SECRET), NOW)
    assert (verified.id, verified.status, verified.amount_received, verified.currency) == (
        "evt_1",
        "succeeded",
        1250,
        "USD",
    )
    assert (verified.checkout_session, verified.invoice, verified.reference) == ("chk_1", "inv_1", "cs_test_1")
    assert (verified.payment_reference, verified.customer_reference) == ("pi_1", "cus_1")
    assert verified.occurred_at == NOW and verified.provider_status == "complete/paid"


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({}, BODY, "missing"),
        ({"stripe-signature": ""}, BODY, "missing"),
        (signed(BODY, "whsec_someone_else"), BODY, "forged"),
        (signed(BODY, SECRET), BODY.replace(b"1250", b"9250"), "forged"),  # tampered
        (signed(BODY, SECRET), json.dumps(json.loads(BODY)).encode(), "forged"),  # re-serialized: not the raw body
        ({"Stripe-Signature": "garbage"}, BODY, "forged"),
        ({"Stripe-Signature": f"t={int(NOW.timestamp())},v0=abc"}, BODY, "forged"),
        (signed(BODY, SECRET, at=NOW - timedelta(seconds=301)), BODY, "stale"),
        (signed(BODY, OLD_SECRET), BODY, "forged"),  # signed only with a secret we no longer hold
    ],
)
def test_untrusted_webhooks_are_refused_with_the_reason(headers: dict[str, str], body: bytes, reason: str) -> None:
    with pytest.raises(InvalidSignature) as refused:
        stripe.verify(CREDENTIALS, body, headers, NOW)
    assert refused.value.reason == reason


def test_during_rotation_any_v1_signature_made_with_our_secret_is_enough() -> None:
    assert stripe.verify(CREDENTIALS, BODY, signed(BODY, OLD_SECRET, SECRET), NOW).status == "succeeded"
    assert stripe.verify(CREDENTIALS, BODY, signed(BODY, SECRET, OLD_SECRET), NOW).status == "succeeded"


def test_tolerance_is_300_seconds_against_the_given_clock() -> None:
    headers = signed(BODY, SECRET, at=NOW - timedelta(seconds=299))
    assert stripe.verify(CREDENTIALS, BODY, headers, NOW).status == "succeeded"
    with pytest.raises(InvalidSignature, match="stale"):
        stripe.verify(CREDENTIALS, BODY, headers, NOW + timedelta(seconds=2))


def test_header_names_are_matched_whatever_their_case() -> None:
    headers = {"stripe-signature": signed(BODY, SECRET)["Stripe-Signature"]}
    assert stripe.verify(CREDENTIALS, BODY, headers, NOW).status == "succeeded"


@pytest.mark.parametrize(
    ("kind", "obj", "status", "received", "reversed_"),
    [
        ("checkout.session.completed", {**SESSION, "payment_status": "unpaid"}, "pending", 0, None),
        ("checkout.session.async_payment_succeeded", SESSION, "succeeded", 1250, None),
        ("checkout.session.async_payment_failed", {**SESSION, "payment_status": "unpaid"}, "failed", 0, None),
        ("checkout.session.expired", {**SESSION, "status": "expired", "payment_status": "unpaid"}, "expired", 0, None),
        ("payment_intent.payment_failed",
         {"object": "payment_intent", "id": "pi_1", "status": "requires_payment_method", "amount_received": 0,
          "currency": "usd", "metadata": {"checkout_session": "chk_1"}}, "failed", 0, None),
        ("charge.refunded",
         {"object": "charge", "id": "ch_1", "amount": 1250, "amount_captured": 1250, "amount_refunded": 250,
          "refunded": False, "payment_intent": "pi_1", "currency": "usd"}, "refunded", 1250, 250),
        ("charge.dispute.closed",
         {"object": "dispute", "id": "dp_1", "status": "lost", "amount": 1250, "payment_intent": "pi_1",
          "currency": "usd"}, "disputed", None, 1250),
        ("charge.dispute.closed",
         {"object": "dispute", "id": "dp_1", "status": "won", "amount": 1250, "payment_intent": "pi_1",
          "currency": "usd"}, None, None, None),
        ("customer.created", {"object": "customer", "id": "cus_1"}, None, None, None),
    ],
)  # fmt: skip
def test_the_status_table(kind: str, obj: dict[str, Any], status: str | None, received: int | None,
                          reversed_: int | None) -> None:  # fmt: skip
    body = event(kind, obj)
    verified = stripe.verify(CREDENTIALS, body, signed(body, SECRET), NOW)
    assert (verified.type, verified.status, verified.amount_received, verified.amount_reversed) == (
        kind, status, received, reversed_)  # fmt: skip


def test_refund_and_dispute_events_name_the_payment_intent() -> None:
    body = event("charge.refunded", {"object": "charge", "amount_refunded": 1250, "payment_intent": "pi_1"})
    assert stripe.verify(CREDENTIALS, body, signed(body, SECRET), NOW).payment_reference == "pi_1"


def test_an_off_session_intent_names_our_payment_from_its_metadata() -> None:
    """``payment_intent.succeeded`` of a saved card's charge: ``metadata.payment`` is ours, so
    the report finds the payment before its reference was written."""
    intent = {"object": "payment_intent", "id": "pi_1", "status": "succeeded", "amount_received": 1250,
              "currency": "usd", "metadata": {"invoice": "inv_1", "payment": "pay_1"}}  # fmt: skip
    body = event("payment_intent.succeeded", intent)
    found = stripe.verify(CREDENTIALS, body, signed(body, SECRET), NOW)
    assert (found.payment, found.payment_reference, found.status) == ("pay_1", "pi_1", "succeeded")
    assert stripe._event("fetch:pi_1", "payment_intent", intent, NOW).payment == "pay_1"


def test_a_well_signed_body_we_cannot_read_changes_nothing() -> None:
    body = b"not json"
    verified = stripe.verify(CREDENTIALS, body, signed(body, SECRET), NOW)
    assert (verified.status, verified.type) == (None, "unreadable") and verified.id.startswith("sha256:")


def test_the_checkout_asks_stripe_for_a_payment_session_naming_our_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.unit.provider_requests import REQUEST

    sent: dict[str, Any] = {}

    class Sessions:
        def create(self, params: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
            sent.update(params=params, options=options)
            return {"id": "cs_test_1", "url": "https://checkout.example/cs_test_1", "expires_at": 1772370000}

    class Client:
        class v1:
            class checkout:
                sessions = Sessions()

    monkeypatch.setattr(stripe, "_call", lambda action, credentials: action(Client()))
    created = stripe.create_checkout(CREDENTIALS, REQUEST)
    assert created.reference == "cs_test_1" and created.expires_at == datetime.fromtimestamp(1772370000, UTC)
    params = sent["params"]
    assert params["mode"] == "payment" and params["client_reference_id"] == "chk_1"
    assert params["line_items"] == [
        {"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 1250, "product_data": {"name": "Invoice 1"}}}
    ]
    assert (
        params["metadata"]
        == params["payment_intent_data"]["metadata"]
        == {"checkout_session": "chk_1", "invoice": "inv_1"}
    )
    assert params["payment_intent_data"]["setup_future_usage"] == "off_session"
    assert params["customer_creation"] == "always" and params["customer_email"] == "jane@example.com"
    assert params["expires_at"] == int(REQUEST.expires_at.timestamp())
    assert sent["options"] == {"idempotency_key": "checkout-chk_1-1250-save"}  # saving: another session
    stripe.create_checkout(CREDENTIALS, replace(REQUEST, attempt=2))  # after failed ones: a new session
    assert sent["options"] == {"idempotency_key": "checkout-chk_1-1250-save-attempt2"}


SAVED = stripe.SavedCardCharge(amount=1250, currency="USD", customer_reference="cus_1", payment_method="pm_1",
                               description="Invoice 1", metadata={"invoice": "inv_1"},
                               idempotency_key="off_session-pay_1")  # fmt: skip


def charging(monkeypatch: pytest.MonkeyPatch, answer: Any) -> dict[str, Any]:
    """Stripe's PaymentIntents answering ``answer`` (a dict, or an error to raise)."""
    sent: dict[str, Any] = {}

    class Intents:
        def create(self, params: dict[str, Any], options: dict[str, Any]) -> Any:
            sent.update(params=params, options=options)
            if isinstance(answer, Exception):
                raise answer
            return stripe_library.PaymentIntent.construct_from(answer, "sk_test_1")

    class Client:
        class v1:
            payment_intents = Intents()

    monkeypatch.setattr(stripe, "_call", lambda action, credentials: action(Client()))
    return sent


def test_a_saved_card_is_charged_off_session_under_the_callers_idempotency_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = charging(monkeypatch, {"id": "pi_1", "object": "payment_intent", "status": "succeeded"})
    charged = stripe.charge_saved(CREDENTIALS, SAVED)
    assert charged == stripe.ProviderCharge("pi_1", "succeeded")
    assert sent["options"] == {"idempotency_key": "off_session-pay_1"}
    params = sent["params"]
    assert (params["off_session"], params["confirm"], params["customer"], params["payment_method"]) == (
        True, True, "cus_1", "pm_1")  # fmt: skip
    assert (params["amount"], params["currency"], params["metadata"]) == (1250, "usd", {"invoice": "inv_1"})


def test_a_declined_saved_card_is_a_failed_charge_with_the_decline_code(monkeypatch: pytest.MonkeyPatch) -> None:
    error = {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
        "payment_intent": {"id": "pi_2", "object": "payment_intent", "status": "requires_payment_method"},
    }
    declined = stripe_library.CardError(error["message"], None, "card_declined", http_status=402,
                                        json_body={"error": error})  # fmt: skip
    charging(monkeypatch, declined)
    assert stripe.charge_saved(CREDENTIALS, SAVED) == stripe.ProviderCharge(
        "pi_2", "failed", "insufficient_funds", "Your card has insufficient funds.")  # fmt: skip


def test_a_fetched_payment_intent_says_its_own_status_and_why_it_failed() -> None:
    intent = {"object": "payment_intent", "id": "pi_3", "status": "requires_payment_method", "amount_received": 0,
              "currency": "usd", "last_payment_error": {"code": "card_declined", "decline_code": "expired_card",
                                                        "message": "Your card has expired."}}  # fmt: skip
    truth = stripe._event("fetch:pi_3", "payment_intent", intent, NOW)
    assert (truth.status, truth.reference, truth.payment_reference) == ("failed", "pi_3", "pi_3")
    assert (truth.failure_code, truth.failure_message) == ("expired_card", "Your card has expired.")
    paid = stripe._event("fetch:pi_3", "payment_intent", {**intent, "status": "succeeded", "amount_received": 1250,
                                                          "latest_charge": {"amount_refunded": 0}}, NOW)  # fmt: skip
    assert (paid.status, paid.amount_received, paid.failure_code) == ("succeeded", 1250, None)


def test_a_refund_asks_stripe_under_its_key_and_answers_the_charge_as_refunded(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: dict[str, Any] = {}

    class Answer(dict[str, Any]):
        def to_dict(self) -> dict[str, Any]:
            return dict(self)

    class Refunds:
        def create(self, params: dict[str, Any], options: dict[str, Any]) -> Answer:
            sent.update(params=params, options=options)
            return Answer(id="re_1", object="refund", charge="ch_1", amount=400)

    class Charges:
        def retrieve(self, charge: str) -> Answer:
            sent["charge"] = charge
            return Answer(id=charge, object="charge", payment_intent="pi_1", amount=1250, amount_captured=1250,
                          amount_refunded=700, refunded=False, currency="usd")  # fmt: skip

    class Client:
        class v1:
            refunds = Refunds()
            charges = Charges()

    monkeypatch.setattr(stripe, "_call", lambda action, credentials: action(Client()))
    truth = stripe.refund(CREDENTIALS, "pi_1", 400, "refund-pay_1-300-400")
    assert sent == {"params": {"payment_intent": "pi_1", "amount": 400},
                    "options": {"idempotency_key": "refund-pay_1-300-400"}, "charge": "ch_1"}  # fmt: skip
    assert (truth.status, truth.type, truth.payment_reference) == ("refunded", "charge.refunded", "pi_1")
    assert (truth.amount_received, truth.amount_reversed, truth.currency) == (1250, 700, "USD")  # every refund
