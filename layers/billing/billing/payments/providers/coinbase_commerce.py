"""Coinbase Commerce: crypto on a hosted charge page, confirmed by signed webhooks.

- Checkout: ``POST {base}/charges`` (header ``X-CC-Api-Key``, ``X-CC-Version: 2018-03-22``)
  with ``name``, ``description``, ``pricing_type: fixed_price``, ``local_price`` (``amount``
  as a decimal string, ``currency``), ``metadata`` (our checkout session and invoice ids),
  ``redirect_url``, ``cancel_url``; it answers ``{"data": charge}`` with ``id``, ``code``,
  ``hosted_url``, ``expires_at``. A charge lives about an hour (Coinbase's choice, not ours).
  https://docs.cdp.coinbase.com/commerce/api-architecture/charges (create a charge)
- Truth: ``GET {base}/charges/{id}``: the charge's ``timeline`` (NEW, SIGNED, PENDING,
  COMPLETED, EXPIRED, FAILED; older charges also UNRESOLVED, RESOLVED, CANCELED) and
  ``payments`` (each ``value.local.amount`` in the charge's local currency).
- Webhooks: ``X-CC-Webhook-Signature`` = hex HMAC-SHA256 of the raw body with the endpoint's
  shared secret; no timestamp (a replay is a duplicate ``event.id``, dropped by storage).
  Body ``{"id", "attempt_number", "event": {"id", "type", "created_at", "data": charge}}``;
  types ``charge:created``, ``charge:pending`` (paid, awaiting confirmations),
  ``charge:confirmed``, ``charge:failed`` (expired unpaid, or underpaid at expiry),
  ``charge:delayed`` (paid after expiry), ``charge:resolved`` (the merchant accepted an
  unresolved payment). https://docs.cdp.coinbase.com/commerce/api-architecture/webhooks-fields
  and https://docs.cloud.coinbase.com/commerce/docs/webhooks-fields-and-security

What arrived is the sum of the charge's payments in its local currency (not failed ones);
against ``pricing.local.amount`` it makes an underpayment ``partially_paid`` and a payment
after expiry ``succeeded`` (``base.settled``); an overpayment is ``succeeded`` with the excess
in ``amount_received`` (Coinbase does not refund it).

Reversals: none is mapped. Coinbase Commerce has no refund or chargeback of a charge (a
confirmed on-chain payment is final; returning crypto is the merchant's own transfer, recorded
as an offline refund). The one way money counted here can vanish is a payment counted before
it was confirmed (a charge ``UNRESOLVED`` with a payment still ``PENDING``) that then fails
(dropped or double-spent): ``fetch`` then reports less arrived, but ``settlement.advance``
never lowers what arrived, so it stays recorded. Known gap, left open: counting only
``CONFIRMED`` payments, or turning the drop into ``amount_reversed``, needs Coinbase's payment
statuses confirmed first.
"""

from __future__ import annotations

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

NAME = "coinbase_commerce"
CHANNEL: Channel = "crypto"
API_VERSION = "2018-03-22"


class Credentials(base.Credentials):
    api_key: SecretStr
    webhook_secret: SecretStr  # the webhook subscription's shared secret


STATUSES: Mapping[str, Status] = {
    # webhook event types
    "charge:created": "pending",
    "charge:pending": "pending",
    "charge:confirmed": "succeeded",
    "charge:failed": "failed",  # "expired" when the charge's timeline ends EXPIRED
    "charge:delayed": "succeeded",  # a late payment is still recorded (less than asked: partially paid)
    "charge:resolved": "succeeded",
    # timeline statuses, for fetch
    "NEW": "pending",
    "SIGNED": "pending",
    "PENDING": "pending",
    "COMPLETED": "succeeded",
    "CONFIRMED": "succeeded",
    "EXPIRED": "expired",
    "FAILED": "failed",
    "CANCELED": "failed",
    "UNRESOLVED": "partially_paid",  # under-, over-, late or multiple payment: what arrived decides
    "RESOLVED": "succeeded",
}


def create_checkout(credentials: Credentials, request: CheckoutRequest) -> ProviderCheckout:
    metadata = {
        "checkout_session": request.checkout_session,
        **({"invoice": request.invoice} if request.invoice else {}),
    }
    body = {
        "name": request.description[:100],
        "description": request.description[:200],
        "pricing_type": "fixed_price",
        "local_price": {"amount": base.from_minor(request.amount, request.currency), "currency": request.currency},
        "metadata": metadata,
        "redirect_url": request.success_url,
        "cancel_url": request.cancel_url,
    }
    charge = _charge(http.call(NAME, "POST", f"{_base()}/charges", _auth(credentials), body))
    return ProviderCheckout(
        reference=str(charge["id"]), url=str(charge["hosted_url"]), expires_at=_time(charge.get("expires_at"))
    )


def verify(credentials: Credentials, raw_body: bytes, headers: Mapping[str, str], now: datetime) -> ProviderEvent:
    signature = base.header(headers, "X-CC-Webhook-Signature")
    if not signature:
        raise InvalidSignature("missing", "no X-CC-Webhook-Signature header")
    if not base.signature_matches(signature, credentials.webhook_secret.get_secret_value(), [raw_body]):
        raise InvalidSignature("forged", "X-CC-Webhook-Signature does not match the body")
    try:
        event = json.loads(raw_body)["event"]
        return _event(str(event["id"]), str(event["type"]), event["data"], _time(event.get("created_at")) or now)
    except base.UNREADABLE:
        return base.unreadable(NAME, raw_body, now)


def fetch(credentials: Credentials, reference: str) -> ProviderEvent | None:
    try:
        answer = http.call(NAME, "GET", f"{_base()}/charges/{quote(reference, safe='')}", _auth(credentials))
    except ProviderError as refused:
        if refused.status == 404:
            return None
        raise
    charge = _charge(answer)
    last = _last_status(charge)
    return _event(f"fetch:{charge['id']}:{last}", "charge", charge, datetime.now(UTC))


def _event(event_id: str, kind: str, charge: dict[str, Any], at: datetime) -> ProviderEvent:
    local = (charge.get("pricing") or {}).get("local") or {}
    currency = str(local.get("currency") or "").upper() or None
    last = _last_status(charge)
    status = STATUSES.get(kind) or STATUSES.get(last or "")
    if kind == "charge:failed" and last == "EXPIRED":
        status = "expired"
    received = _received(charge, currency)
    metadata = charge.get("metadata") or {}
    return ProviderEvent(
        id=event_id,
        provider=NAME,
        type=kind,
        status=base.settled(status, base.to_minor(local.get("amount"), currency), received),
        occurred_at=at,
        provider_status=last,
        checkout_session=metadata.get("checkout_session"),
        invoice=metadata.get("invoice"),
        reference=charge.get("id"),
        amount_received=received,
        currency=currency,
    )


def _received(charge: dict[str, Any], currency: str | None) -> int | None:
    """The sum of the charge's payments (not failed) in its local currency, in minor units."""
    total = Decimal(0)
    for payment in charge.get("payments") or []:
        value = ((payment or {}).get("value") or {}).get("local") or {}
        if str(payment.get("status", "")).upper() == "FAILED" or str(value.get("currency", "")).upper() != currency:
            continue
        try:
            total += Decimal(str(value.get("amount")))
        except InvalidOperation:
            continue
    return base.to_minor(str(total), currency)


def _last_status(charge: dict[str, Any]) -> str | None:
    timeline = charge.get("timeline") or []
    return str(timeline[-1].get("status")).upper() if timeline and isinstance(timeline[-1], dict) else None


def _charge(answer: dict[str, Any]) -> dict[str, Any]:
    charge = answer.get("data")
    if not isinstance(charge, dict) or "id" not in charge:
        raise ProviderError(NAME, 0, "answered without a charge")
    return charge


def _base() -> str:
    return get_settings().coinbase_commerce_api_base


def _auth(credentials: Credentials) -> dict[str, str]:
    return {"X-CC-Api-Key": credentials.api_key.get_secret_value(), "X-CC-Version": API_VERSION}


def _time(value: Any) -> datetime | None:
    """Coinbase's ISO 8601 (``2017-01-31T20:49:02Z``)."""
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
