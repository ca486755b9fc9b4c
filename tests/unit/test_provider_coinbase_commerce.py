"""The Coinbase Commerce provider module: the signature matrix (the raw body only), its
status table, and payments against the price."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from billing.payments.providers import InvalidSignature, coinbase_commerce
from billing.settings import Settings
from tests.unit.provider_requests import REQUEST

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "shared-secret"
CREDENTIALS = coinbase_commerce.Credentials(api_key="cb-key", webhook_secret=SECRET)


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-CC-Webhook-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def charge(timeline: list[str], *paid: str) -> dict[str, Any]:
    return {
        "id": "ch-1", "code": "ABCD1234", "pricing": {"local": {"amount": "12.50", "currency": "USD"}},
        "metadata": {"checkout_session": "chk_1", "invoice": "inv_1"},
        "timeline": [{"time": "2026-03-01T11:00:00Z", "status": status} for status in timeline],
        "payments": [{"status": "CONFIRMED", "value": {"local": {"amount": amount, "currency": "USD"},
                                                       "crypto": {"amount": amount, "currency": "USDC"}}}
                     for amount in paid],
    }  # fmt: skip


def webhook(kind: str, data: dict[str, Any]) -> bytes:
    event = {"id": "evt-1", "resource": "event", "type": kind, "created_at": "2026-03-01T11:59:00Z", "data": data}
    return json.dumps({"id": 7, "attempt_number": 1, "event": event}).encode()


BODY = webhook("charge:confirmed", charge(["NEW", "PENDING", "COMPLETED"], "12.50"))


def test_a_signed_confirmed_charge_is_a_succeeded_payment() -> None:
    verified = coinbase_commerce.verify(CREDENTIALS, BODY, sign(BODY), NOW)
    assert (verified.id, verified.status, verified.amount_received, verified.currency) == (
        "evt-1",
        "succeeded",
        1250,
        "USD",
    )
    assert (verified.checkout_session, verified.invoice, verified.reference) == ("chk_1", "inv_1", "ch-1")
    assert verified.occurred_at == datetime(2026, 3, 1, 11, 59, tzinfo=UTC) and verified.provider_status == "COMPLETED"


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({}, BODY, "missing"),
        (sign(BODY, "someone-else"), BODY, "forged"),
        (sign(BODY), BODY.replace(b'"12.50"', b'"1.50"'), "forged"),
        (sign(BODY), json.dumps(json.loads(BODY), indent=2).encode(), "forged"),  # re-serialized: not the raw body
        ({"x-cc-webhook-signature": "00"}, BODY, "forged"),
    ],
)
def test_untrusted_webhooks_are_refused(headers: dict[str, str], body: bytes, reason: str) -> None:
    with pytest.raises(InvalidSignature) as refused:
        coinbase_commerce.verify(CREDENTIALS, body, headers, NOW)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    ("kind", "timeline", "paid", "status", "received"),
    [
        ("charge:created", ["NEW"], (), "pending", 0),
        ("charge:pending", ["NEW", "PENDING"], ("12.50",), "pending", 1250),
        ("charge:confirmed", ["NEW", "PENDING", "COMPLETED"], ("10", "5"), "succeeded", 1500),  # overpaid
        ("charge:failed", ["NEW", "EXPIRED"], (), "expired", 0),
        ("charge:failed", ["NEW", "PENDING", "EXPIRED"], ("5",), "partially_paid", 500),  # underpaid at expiry
        ("charge:failed", ["NEW", "FAILED"], (), "failed", 0),
        ("charge:delayed", ["NEW", "EXPIRED", "UNRESOLVED"], ("12.50",), "succeeded", 1250),  # late, recorded
        ("charge:resolved", ["NEW", "UNRESOLVED", "RESOLVED"], ("12",), "partially_paid", 1200),
        ("charge:something_new", ["NEW"], (), "pending", 0),
    ],
)
def test_the_status_table(kind: str, timeline: list[str], paid: tuple[str, ...], status: str, received: int) -> None:
    body = webhook(kind, charge(timeline, *paid))
    verified = coinbase_commerce.verify(CREDENTIALS, body, sign(body), NOW)
    assert (verified.status, verified.amount_received) == (status, received)


def test_the_checkout_creates_a_fixed_price_charge(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, str, dict[str, str], Any]] = []

    def call(provider: str, method: str, url: str, headers: dict[str, str], body: Any = None) -> dict[str, Any]:
        sent.append((method, url, headers, body))
        return {"data": {**charge(["NEW"]), "hosted_url": "https://pay.example/ABCD1234",
                         "expires_at": "2026-03-01T13:00:00Z"}}  # fmt: skip

    monkeypatch.setattr(coinbase_commerce.http, "call", call)
    monkeypatch.setattr(
        coinbase_commerce, "get_settings", lambda: Settings(coinbase_commerce_api_base="https://cc.test")
    )
    created = coinbase_commerce.create_checkout(CREDENTIALS, REQUEST)
    assert (created.reference, created.url) == ("ch-1", "https://pay.example/ABCD1234")
    assert created.expires_at == datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    method, url, headers, body = sent[0]
    assert (method, url) == ("POST", "https://cc.test/charges")
    assert headers == {"X-CC-Api-Key": "cb-key", "X-CC-Version": "2018-03-22"}
    assert body["pricing_type"] == "fixed_price" and body["local_price"] == {"amount": "12.50", "currency": "USD"}
    assert body["metadata"] == {"checkout_session": "chk_1", "invoice": "inv_1"}
    assert (body["redirect_url"], body["cancel_url"]) == (REQUEST.success_url, REQUEST.cancel_url)


@pytest.mark.parametrize(
    "body", [b"[]", b'{"event": []}', b'{"event": {"id": "e", "type": "charge:confirmed", "data": []}}']
)
def test_a_signed_body_of_another_shape_changes_nothing(body: bytes) -> None:
    verified = coinbase_commerce.verify(CREDENTIALS, body, sign(body), NOW)
    assert (verified.type, verified.status) == ("unreadable", None)


def test_a_signature_header_with_any_characters_is_forged_not_an_error() -> None:
    with pytest.raises(InvalidSignature, match="forged"):
        coinbase_commerce.verify(CREDENTIALS, BODY, {"X-CC-Webhook-Signature": "é"}, NOW)
