"""The Whitepay provider module: the signature matrix (raw body, and the serializations its
signer may have used), its status table, and what arrived against what was asked."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from billing.payments.providers import InvalidSignature, whitepay
from billing.settings import Settings
from tests.unit.provider_requests import REQUEST

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOKEN = "webhook-token"
CREDENTIALS = whitepay.Credentials(slug="store", token="api-token", webhook_token=TOKEN)


def sign(message: bytes, token: str = TOKEN) -> dict[str, str]:
    return {"Signature": hmac.new(token.encode(), message, hashlib.sha256).hexdigest()}


def order(**changes: Any) -> dict[str, Any]:
    return {
        "id": "ord-1", "currency": "USD", "value": "12.5", "received_total": "12.5", "received_currency": "USD",
        "status": "COMPLETE", "external_order_id": "chk_1", "created_at": "2026-03-01 11:50:00",
        "completed_at": "2026-03-01 11:59:00", "acquiring_url": "https://pay.example/crypto-orders/ord-1",
        **changes,
    }  # fmt: skip


PAYLOAD = {"order": order(), "event_type": "order::completed"}
COMPACT = json.dumps(PAYLOAD, separators=(",", ":")).encode()
PHP = COMPACT.replace(b"/", b"\\/")


@pytest.mark.parametrize(
    ("body", "signed_form"),
    [
        (COMPACT, COMPACT),  # the raw body itself
        (COMPACT, PHP),  # signed as PHP's json_encode writes it (\/), delivered with plain /
        (json.dumps(PAYLOAD, indent=2).encode(), COMPACT),  # re-serialized on the wire: the same content
    ],
)
def test_a_signed_order_verifies(body: bytes, signed_form: bytes) -> None:
    verified = whitepay.verify(CREDENTIALS, body, sign(signed_form), NOW)
    assert (verified.status, verified.amount_received, verified.currency) == ("succeeded", 1250, "USD")
    assert (verified.checkout_session, verified.reference, verified.type) == ("chk_1", "ord-1", "order::completed")
    assert verified.occurred_at == datetime(2026, 3, 1, 11, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        ({}, COMPACT, "missing"),
        (sign(COMPACT, "someone-else"), COMPACT, "forged"),
        (sign(COMPACT), COMPACT.replace(b'"received_total":"12.5"', b'"received_total":"99.5"'), "forged"),
        ({"Signature": "zz"}, COMPACT, "forged"),
        (sign(b"not json"), b"not json!", "forged"),
    ],
)
def test_untrusted_webhooks_are_refused(headers: dict[str, str], body: bytes, reason: str) -> None:
    with pytest.raises(InvalidSignature) as refused:
        whitepay.verify(CREDENTIALS, body, headers, NOW)
    assert refused.value.reason == reason


def test_the_event_id_is_stable_for_a_redelivery_and_differs_for_a_new_state() -> None:
    first = whitepay.verify(CREDENTIALS, COMPACT, sign(COMPACT), NOW)
    again = whitepay.verify(CREDENTIALS, COMPACT, sign(COMPACT), NOW)
    partial = json.dumps({"order": order(status="PARTIALLY_FULFILLED", received_total="5"),
                          "event_type": "order::partially_fulfilled"}).encode()  # fmt: skip
    assert first.id == again.id != whitepay.verify(CREDENTIALS, partial, sign(partial), NOW).id


@pytest.mark.parametrize(
    ("kind", "changes", "status", "received"),
    [
        ("order::completed", {}, "succeeded", 1250),
        ("order::completed", {"received_total": "15"}, "succeeded", 1500),  # overpaid: the excess is credit
        ("order::partially_fulfilled", {"status": "PARTIALLY_FULFILLED", "received_total": "5"}, "partially_paid", 500),
        ("order::declined", {"status": "DECLINED", "received_total": "0"}, "expired", 0),
        ("order::declined", {"status": "DECLINED", "received_total": "5"}, "partially_paid", 500),
        ("order::final_amount_was_received", {}, "succeeded", 1250),
        ("order::something_new", {"status": "OPEN", "received_total": "0"}, "pending", 0),  # the order's own status
        # paid in USDT at a fixated 0.5 USD per USDT: 20 USDT are 10.00 USD
        ("order::partially_fulfilled", {"received_currency": "USDT", "received_total": "20", "exchange_rate": "0.5",
                                        "status": "PARTIALLY_FULFILLED"}, "partially_paid", 1000),
        ("order::completed", {"received_currency": "USDT", "received_total": "20"}, "succeeded", None),  # no rate
    ],
)  # fmt: skip
def test_order_events(kind: str, changes: dict[str, Any], status: str, received: int | None) -> None:
    body = json.dumps({"order": order(**changes), "event_type": kind}).encode()
    verified = whitepay.verify(CREDENTIALS, body, sign(body), NOW)
    assert (verified.status, verified.amount_received) == (status, received)


@pytest.mark.parametrize(
    ("kind", "status", "reversed_"),
    [
        ("transaction::completed", None, None),
        ("rollback::to_client", "refunded", 250),
        ("rollback::to_merchant", None, None),
    ],
)
def test_transaction_events(kind: str, status: str | None, reversed_: int | None) -> None:
    transaction = {"id": "tx-1", "order_id": "ord-1", "external_order_id": "chk_1", "currency": "USD", "value": "2.5",
                   "status": "COMPLETE", "created_at": "2026-03-01 11:59:00", "completed_at": None}  # fmt: skip
    body = json.dumps({"transaction": transaction, "event_type": kind}).encode()
    verified = whitepay.verify(CREDENTIALS, body, sign(body), NOW)
    assert (verified.status, verified.amount_reversed, verified.reference, verified.checkout_session) == (
        status, reversed_, "ord-1", "chk_1")  # fmt: skip


def test_the_checkout_creates_a_crypto_order(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, str, dict[str, str], Any]] = []

    def call(provider: str, method: str, url: str, headers: dict[str, str], body: Any = None) -> dict[str, Any]:
        sent.append((method, url, headers, body))
        return {"order": order(status="OPEN", received_total="0")}

    monkeypatch.setattr(whitepay.http, "call", call)
    monkeypatch.setattr(whitepay, "get_settings", lambda: Settings(whitepay_api_base="https://whitepay.test/"))
    created = whitepay.create_checkout(CREDENTIALS, REQUEST)
    assert (created.reference, created.url) == ("ord-1", "https://pay.example/crypto-orders/ord-1")
    method, url, headers, body = sent[0]
    assert method == "POST" and url == "https://whitepay.test/private-api/crypto-orders/store"
    assert headers == {"Authorization": "Bearer api-token"}
    assert body == {"amount": "12.50", "currency": "USD", "external_order_id": "chk_1",
                    "successful_link": REQUEST.success_url, "failure_link": REQUEST.cancel_url}  # fmt: skip


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"order": {"id": "o"}, "event_type": []}', b"not json"])
def test_a_signed_body_of_another_shape_changes_nothing(body: bytes) -> None:
    verified = whitepay.verify(CREDENTIALS, body, sign(body), NOW)
    assert verified.status is None


def test_events_we_do_not_act_on_are_kept_without_a_status() -> None:
    body = json.dumps(
        {"transaction": {"id": "w-1", "status": "COMPLETE"}, "event_type": "withdrawal::completed"}
    ).encode()
    assert whitepay.verify(CREDENTIALS, body, sign(body), NOW).status is None
