"""Whitepay: crypto on a hosted payment form, confirmed by Whitepay's signed webhooks.

- Checkout: ``POST {base}/private-api/crypto-orders/{slug}`` (Bearer token) with ``amount`` (a
  decimal string), ``currency``, ``external_order_id`` (our checkout session id: letters,
  digits, ``-`` and ``_``, as Whitepay allows), ``successful_link``, ``failure_link``; it
  answers ``{"order": {"id", "status", "value", "received_total", "acquiring_url", ...}}``.
  Whitepay orders take no expiry: our checkout session's own expiry governs.
  https://docs.whitepay.com/docs/http-api/acquiring/crypto
- Truth: ``GET {base}/private-api/crypto-orders/{slug}/{order id}`` (same page): the order
  with what arrived (``received_total``) and its ``transactions``. An overpayment's excess
  returned to the payer (``rollback::to_client``) is read from there, not from the webhook: the
  order's completed transactions of type ``ROLLBACK_TO_CLIENT`` (``ROLLBACK_TYPES``), their
  ``value`` in their ``currency``, add up to ``amount_reversed`` and make the truth
  ``refunded``. The type name is our reading of the order API, served so by the stand-in;
  check it against a real order with a rollback before relying on it in production.
- Webhooks: header ``Signature`` = hex HMAC-SHA256 of the JSON body with the store's webhook
  token; Whitepay's own sample computes it as ``HmacSHA256(JSON.stringify(payload), secret)``
  (https://docs.whitepay.com/docs/webhooks/auth), i.e. over a serialization of the payload,
  not necessarily the bytes on the wire: integrators report that the signed form escapes
  ``/`` as ``\\/`` (PHP's ``json_encode``) while the delivered body does not. So the
  signature is checked against the raw body first, then against the two serializations of
  the parsed body that Whitepay's signer may have used (compact ``JSON.stringify`` style, and
  PHP style with ``\\/`` and ``\\uXXXX``). That is safe: each candidate is made from the very
  body we then read, so a match proves the token holder signed exactly this content; a body
  whose numbers Python re-serializes differently is refused, never accepted wrongly. There is
  no timestamp, hence no staleness: a replay is a duplicate event id, which storage drops.
- Events (https://docs.whitepay.com/docs/webhooks/events): ``order::completed``,
  ``order::partially_fulfilled``, ``order::declined`` (the order closed unpaid: Whitepay's
  expiry), ``order::final_amount_was_received``; ``transaction::complete(d)`` (money moved on
  an order: the order events carry its state, so no status of its own); and for overpaid
  orders ``rollback::to_client`` (the excess went back to the payer: reversed) and
  ``rollback::to_merchant`` (the excess stays: already credited, nothing changes). Whitepay
  events carry no id: ours is the event type, the object's id and a digest of the payload.

``received_total`` is in ``received_currency`` (what the payer sent, e.g. USDT); in the
order's currency it is ``received_total * exchange_rate`` (the order's fixated rate, order
currency per received unit), rounded down; with no rate and another currency it is unknown.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from billing.payments.model import Channel, Status
from billing.payments.providers import base, http
from billing.payments.providers.base import (
    CheckoutRequest,
    InvalidSignature,
    ProviderCheckout,
    ProviderError,
    ProviderEvent,
)
from billing.settings import get_settings

NAME = "whitepay"
CHANNEL: Channel = "crypto"


class Credentials(base.Credentials):
    slug: str  # the payment page's (store's) slug, from Whitepay's CRM
    token: SecretStr  # the private API token
    webhook_token: SecretStr  # the webhook signature token


STATUSES: Mapping[str, Status] = {
    # webhook event types
    "order::completed": "succeeded",
    "order::final_amount_was_received": "succeeded",
    "order::partially_fulfilled": "partially_paid",
    "order::declined": "expired",
    "rollback::to_client": "refunded",  # of the excess only: the fetched order's rollbacks say how much
    # ("rollback::to_merchant": the excess stays with the merchant, already customer credit: unmapped)
    # order statuses, for fetch
    "INIT": "pending",
    "OPEN": "pending",
    "COMPLETE": "succeeded",
    "PARTIALLY_FULFILLED": "partially_paid",
    "DECLINED": "expired",
    "FAILED": "failed",
    "CANCELLED": "failed",
}


ROLLBACK_TYPES = frozenset({"ROLLBACK_TO_CLIENT"})
"""An order's transaction types that return money to the payer (see the module)."""


def create_checkout(credentials: Credentials, request: CheckoutRequest) -> ProviderCheckout:
    body = {
        "amount": base.from_minor(request.amount, request.currency),
        "currency": request.currency,
        "external_order_id": request.checkout_session,
        "successful_link": request.success_url,
        "failure_link": request.cancel_url,
    }
    order = _order(http.call(NAME, "POST", _orders_url(credentials), _auth(credentials), body))
    return ProviderCheckout(reference=str(order["id"]), url=str(order["acquiring_url"]), expires_at=None)


def verify(credentials: Credentials, raw_body: bytes, headers: Mapping[str, str], now: datetime) -> ProviderEvent:
    signature = base.header(headers, "Signature")
    if not signature:
        raise InvalidSignature("missing", "no Signature header")
    secret = credentials.webhook_token.get_secret_value()
    try:
        payload = json.loads(raw_body)
    except ValueError:
        payload = None
    if not base.signature_matches(signature, secret, [raw_body, *serializations(payload)]):
        raise InvalidSignature("forged", "Signature does not match the body")
    try:
        return _event(payload, now)
    except base.UNREADABLE:
        return base.unreadable(NAME, raw_body, now)


def fetch(credentials: Credentials, reference: str) -> ProviderEvent | None:
    try:
        answer = http.call(NAME, "GET", f"{_orders_url(credentials)}/{quote(reference, safe='')}", _auth(credentials))
    except ProviderError as refused:
        if refused.status == 404:
            return None
        raise
    order = _order(answer)
    return _order_event(f"fetch:{order['id']}:{order.get('status')}", "order", order, datetime.now(UTC))


def serializations(payload: Any) -> list[bytes]:
    """The JSON texts Whitepay's signer may have made of ``payload`` (see the module)."""
    if payload is None:
        return []
    compact = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    php = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")
    return [compact.encode(), php.encode()]


def _event(payload: Any, now: datetime) -> ProviderEvent:
    kind = str(payload.get("event_type") or "unknown")
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]
    if isinstance(payload.get("order"), dict):
        order = payload["order"]
        return _order_event(f"{kind}:{order.get('id')}:{digest}", kind, order, now)
    found = payload.get("transaction")
    transaction: dict[str, Any] = found if isinstance(found, dict) else {}
    currency = str(transaction.get("currency") or "").upper() or None
    status = STATUSES.get(kind)
    return ProviderEvent(
        id=f"{kind}:{transaction.get('id')}:{digest}",
        provider=NAME,
        type=kind,
        status=status,
        occurred_at=_time(transaction.get("completed_at") or transaction.get("created_at")) or now,
        provider_status=transaction.get("status"),
        checkout_session=transaction.get("external_order_id"),
        reference=transaction.get("order_id"),
        amount_reversed=base.to_minor(transaction.get("value"), currency) if status == "refunded" else None,
        currency=currency,
    )


def _order_event(event_id: str, kind: str, order: dict[str, Any], now: datetime) -> ProviderEvent:
    """An order (from a webhook or a fetch): the event type's status, else the order's own,
    corrected by what arrived against what was asked (``base.settled``); ``refunded`` once
    some of what arrived went back to the payer (``_rolled_back``)."""
    currency = str(order.get("currency") or "").upper() or None
    asked = base.to_minor(order.get("value"), currency)
    received = _received(order, currency)
    status = base.settled(STATUSES.get(kind) or STATUSES.get(str(order.get("status"))), asked, received)
    rolled_back = _rolled_back(order, currency)
    if rolled_back and status in ("succeeded", "partially_paid"):
        status = "refunded"
    return ProviderEvent(
        id=event_id,
        provider=NAME,
        type=kind,
        status=status,
        occurred_at=_time(order.get("completed_at") or order.get("created_at")) or now,
        provider_status=order.get("status"),
        checkout_session=order.get("external_order_id"),
        reference=order.get("id"),
        amount_received=received,
        amount_reversed=rolled_back or None,
        currency=currency,
    )


def _received(order: dict[str, Any], currency: str | None) -> int | None:
    """``received_total`` in minor units of the order's currency (see the module)."""
    return _in_order_currency(order, order.get("received_total"), order.get("received_currency"), currency)


def _rolled_back(order: dict[str, Any], currency: str | None) -> int:
    """What the order's completed rollbacks returned to the payer, in minor units of its
    currency (0 when the order lists no transactions, or one cannot be converted)."""
    total = 0
    for transaction in order.get("transactions") or []:
        if not isinstance(transaction, dict) or str(transaction.get("type") or "").upper() not in ROLLBACK_TYPES:
            continue
        if str(transaction.get("status") or "").upper() != "COMPLETE":
            continue
        total += _in_order_currency(order, transaction.get("value"), transaction.get("currency"), currency) or 0
    return total


def _in_order_currency(order: dict[str, Any], amount: Any, paid_in: Any, currency: str | None) -> int | None:
    """``amount`` of ``paid_in`` (the order's currency when not given) in minor units of the
    order's ``currency``: at the order's fixated ``exchange_rate`` when another, rounded down."""
    paid_in = str(paid_in or "").upper()
    if not paid_in or paid_in == currency:
        return base.to_minor(amount, currency)
    try:
        converted = Decimal(str(amount)) * Decimal(str(order["exchange_rate"]))
    except (KeyError, InvalidOperation, TypeError):
        return None
    return base.to_minor(str(converted), currency)


def _order(answer: dict[str, Any]) -> dict[str, Any]:
    order = answer.get("order")
    if not isinstance(order, dict) or "id" not in order:
        raise ProviderError(NAME, 0, "answered without an order")
    return order


def _orders_url(credentials: Credentials) -> str:
    return f"{get_settings().whitepay_api_base}/private-api/crypto-orders/{quote(credentials.slug, safe='')}"


def _auth(credentials: Credentials) -> dict[str, str]:
    return {"Authorization": f"Bearer {credentials.token.get_secret_value()}"}


def _time(value: Any) -> datetime | None:
    """Whitepay's ``"2022-03-22 14:03:34"`` (UTC)."""
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
