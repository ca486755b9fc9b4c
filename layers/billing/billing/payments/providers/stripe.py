"""Stripe: cards on a hosted Checkout Session, confirmed by Stripe's signed webhooks.

- Checkout: ``POST /v1/checkout/sessions`` with ``mode=payment``, one ``price_data`` line, our
  checkout session and invoice ids in ``metadata`` (and in ``payment_intent_data.metadata``,
  so PaymentIntent events name them too), ``client_reference_id``, ``expires_at`` (Stripe
  takes 30 minutes to 24 hours from now), ``success_url``/``cancel_url``; ``save_card`` sets
  ``payment_intent_data.setup_future_usage=off_session`` (and ``customer_creation=always``
  when no customer is given), so the card can be charged when later invoices are finalized.
  https://docs.stripe.com/api/checkout/sessions/create
- Refunds: ``refund`` creates a Refund of the payment's PaymentIntent under an idempotency key
  and answers the charge's truth after it (what it refunded in all), the same truth
  ``charge.refunded`` brings later, so the webhook finds nothing new to record.
- Webhooks: ``Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>...]``, HMAC-SHA256 of
  ``"<t>.<raw body>"`` with the endpoint's secret; while a secret is rolled, Stripe signs with
  each active one (several ``v1``), and any match is enough. The signatures are checked by the
  ``stripe`` library (``WebhookSignature.verify_header``, what ``Webhook.construct_event``
  calls); the 300 s tolerance is checked here against the ``now`` we are given, since the
  library reads the system clock. https://docs.stripe.com/webhooks#verify-events
- Truth: ``fetch`` retrieves the Checkout Session, then its PaymentIntent (amount received,
  the saved payment method, and that method's card brand and last four digits when the session
  has a customer: a card being saved) and that intent's charge (refunds) with, when the charge
  says it was ``disputed``, its disputes (``GET /v1/disputes?charge=``). A PaymentIntent's id
  (``pi_...``: an off-session charge has no session) is fetched as the intent itself, its
  status mapped by ``INTENT_STATUSES``.
- Reversals: what went back of a payment is its charge's ``amount_refunded`` plus the
  ``amount`` of each of its disputes Stripe closed ``lost`` (the money Stripe took back from
  the merchant); a dispute ``won``, or still open (``needs_response``, ``under_review``, ...),
  reverses nothing. A lost dispute makes the truth ``disputed`` (else a refund ``refunded``),
  so ``charge.dispute.closed`` is confirmed from the charge it names like any other report,
  and the same total told again moves nothing. https://docs.stripe.com/api/disputes/object
- Saved cards: ``charge_saved`` creates and confirms a PaymentIntent with ``off_session=true``
  for the customer's saved payment method, under the caller's idempotency key (a redelivered
  request gets the first intent back). A decline is Stripe's 402 ``card_error`` naming the
  intent it left ``requires_payment_method``: answered as a ``failed`` charge with the decline
  code, not raised. https://docs.stripe.com/payments/save-during-payment#charge-saved-payment-method

``stripe`` is imported inside the functions only: it loads hundreds of modules, and the API
function's cold start must not pay for them (``bench/cold_start.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from pydantic import SecretStr

from billing.payments.model import Channel, Status
from billing.payments.providers import base
from billing.payments.providers.base import (
    CheckoutRequest,
    InvalidSignature,
    ProviderCharge,
    ProviderCheckout,
    ProviderError,
    ProviderEvent,
    SavedCardCharge,
)
from billing.settings import get_settings

if TYPE_CHECKING:
    import stripe as stripe_library

NAME = "stripe"
CHANNEL: Channel = "card"
TOLERANCE = 300  # seconds a signature stays good: older ones are replays
TIMEOUT = 10  # seconds per API call (Stripe's library would wait 80)


class Credentials(base.Credentials):
    api_key: SecretStr  # sk_live_... / sk_test_... (or a restricted rk_...)
    webhook_secret: SecretStr  # whsec_..., the endpoint's signing secret

    def of_other_mode(self, livemode: bool) -> str | None:
        """A live account takes only live keys, a test account only test keys."""
        wanted = "_live_" if livemode else "_test_"
        key = self.api_key.get_secret_value()
        return None if key[:2] in ("sk", "rk") and key[2:8] == wanted else "api_key"


STATUSES: Mapping[str, Status] = {
    # webhook event types
    "checkout.session.completed": "succeeded",  # payment_status "unpaid" (a delayed method): pending
    "checkout.session.async_payment_succeeded": "succeeded",
    "checkout.session.async_payment_failed": "failed",
    "checkout.session.expired": "expired",
    "payment_intent.succeeded": "succeeded",
    "payment_intent.processing": "pending",
    "payment_intent.payment_failed": "failed",  # one attempt: the Checkout Session stays open for another
    "payment_intent.canceled": "failed",
    "charge.refunded": "refunded",  # amount_reversed says how much (in total so far)
    "charge.dispute.closed": "disputed",  # only when the dispute is "lost"; won: nothing changes
    # (fetch confirms it: the charge's lost disputes count in amount_reversed, see _reversed)
    # a Checkout Session's status, for fetch
    "open": "pending",
    "complete": "succeeded",  # with payment_status "paid"; "unpaid": pending
    "expired": "expired",
}

INTENT_STATUSES: Mapping[str, Status] = {
    # a PaymentIntent's status, for fetch and charge_saved (always confirmed when created)
    "succeeded": "succeeded",
    "processing": "pending",
    "requires_capture": "pending",
    "requires_confirmation": "pending",
    "requires_payment_method": "failed",  # declined: it waits for another method
    "requires_action": "failed",  # off-session, the bank asks for the customer (authentication_required)
    "canceled": "failed",
}


def create_checkout(credentials: Credentials, request: CheckoutRequest) -> ProviderCheckout:
    metadata = {
        "checkout_session": request.checkout_session,
        **({"invoice": request.invoice} if request.invoice else {}),
    }
    intent: dict[str, Any] = {"metadata": metadata}
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": request.currency.lower(),
                    "unit_amount": request.amount,
                    "product_data": {"name": request.description},
                },
            }
        ],
        "metadata": metadata,
        "client_reference_id": request.checkout_session,
        "expires_at": int(request.expires_at.timestamp()),
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
        "payment_intent_data": intent,
    }
    if request.customer_reference:
        params["customer"] = request.customer_reference
    elif request.customer_email:
        params["customer_email"] = request.customer_email
    if request.save_card:
        intent["setup_future_usage"] = "off_session"
        if not request.customer_reference:
            params["customer_creation"] = "always"
    # the same checkout asked twice (a double click) gets the same Stripe session back; another
    # amount for the same session (what is left after a partial crypto payment) is another one
    saving = "-save" if request.save_card else ""  # other parameters: another Stripe session
    retry = f"-attempt{request.attempt}" if request.attempt else ""  # after a failed one: a new session
    options = {"idempotency_key": f"checkout-{request.checkout_session}-{request.amount}{saving}{retry}"}
    session = _call(lambda client: client.v1.checkout.sessions.create(params=params, options=options), credentials)
    return ProviderCheckout(
        reference=session["id"], url=session["url"], expires_at=datetime.fromtimestamp(session["expires_at"], UTC)
    )


def refund(credentials: Credentials, payment_reference: str, amount: int, idempotency_key: str) -> ProviderEvent:
    """Refund ``amount`` of the PaymentIntent ``payment_reference`` (``POST /v1/refunds``, under
    ``idempotency_key``: a request sent again gets the first refund back, for 24 hours), then
    read its charge: the truth after it, ``charge.refunded`` as its webhook will tell it
    (``amount_reversed``: what went back of the charge in all, other refunds and lost
    disputes included).
    https://docs.stripe.com/api/refunds/create"""

    def create(client: stripe_library.StripeClient) -> dict[str, Any]:
        params: stripe_library.params.RefundCreateParams = {"payment_intent": payment_reference, "amount": amount}
        made = client.v1.refunds.create(params=params, options={"idempotency_key": idempotency_key}).to_dict()
        return _charge(client, str(_id(made.get("charge"))))

    charge = _call(create, credentials)
    return _event(f"refund:{idempotency_key}", "charge.refunded", charge, datetime.now(UTC))


def verify(credentials: Credentials, raw_body: bytes, headers: Mapping[str, str], now: datetime) -> ProviderEvent:
    import stripe

    signature = base.header(headers, "Stripe-Signature")
    if not signature:
        raise InvalidSignature("missing", "no Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(raw_body, signature, credentials.webhook_secret.get_secret_value())
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as forged:
        raise InvalidSignature("forged", str(forged).split(".")[0]) from None
    signed_at = int(next(part[2:] for part in signature.split(",") if part.startswith("t=")))
    if now.timestamp() - signed_at > TOLERANCE:
        raise InvalidSignature("stale", f"signed {int(now.timestamp()) - signed_at} s ago (tolerance {TOLERANCE} s)")
    try:
        payload = json.loads(raw_body)
        obj = payload["data"]["object"]
        return _event(str(payload["id"]), str(payload["type"]), obj, _time(payload.get("created")) or now)
    except base.UNREADABLE:
        return base.unreadable(NAME, raw_body, now)


def charge_saved(credentials: Credentials, charge: SavedCardCharge) -> ProviderCharge:
    """Charge a saved card off-session: a PaymentIntent created and confirmed at once."""
    params: dict[str, Any] = {
        "amount": charge.amount,
        "currency": charge.currency.lower(),
        "customer": charge.customer_reference,
        "payment_method": charge.payment_method,
        "off_session": True,
        "confirm": True,
        "description": charge.description,
        "metadata": charge.metadata,
    }

    def create(client: stripe_library.StripeClient) -> dict[str, Any]:
        import stripe

        try:
            options: Any = {"idempotency_key": charge.idempotency_key}  # a redelivery gets the first intent
            return client.v1.payment_intents.create(params=cast(Any, params), options=options).to_dict()
        except stripe.CardError as declined:
            intent = getattr(declined.error, "payment_intent", None)
            if intent is None:
                raise
            found: dict[str, Any] = intent.to_dict() if isinstance(intent, stripe.StripeObject) else dict(intent)
            error = declined.error
            reason = {"code": getattr(error, "code", None), "decline_code": getattr(error, "decline_code", None),
                      "message": getattr(error, "message", None)}  # fmt: skip
            return {**found, "last_payment_error": found.get("last_payment_error") or reason}

    intent = _call(create, credentials)
    code, message = _failure(intent)
    status = INTENT_STATUSES.get(str(intent.get("status")), "pending")
    return ProviderCharge(str(intent["id"]), status, code if status == "failed" else None,
                          message if status == "failed" else None)  # fmt: skip


def fetch(credentials: Credentials, reference: str) -> ProviderEvent | None:
    """The Checkout Session ``reference`` (``cs_...``) as Stripe has it now, with what its
    PaymentIntent received and its charge refunded, or the PaymentIntent ``reference``
    (``pi_...``: an off-session charge); None if Stripe has no such object."""

    def read(client: stripe_library.StripeClient) -> dict[str, Any] | None:
        import stripe

        try:
            if reference.startswith("pi_"):
                return _intent(client, reference)
            session = client.v1.checkout.sessions.retrieve(reference).to_dict()
        except stripe.InvalidRequestError as missing:
            if missing.http_status == 404:
                return None
            raise
        intent_id = _id(session.get("payment_intent"))
        if intent_id:
            intent = _intent(client, intent_id)
            method = _id(intent.get("payment_method"))
            if method and session.get("customer"):  # a card saved on the customer: what to show of it
                intent["payment_method"] = client.v1.payment_methods.retrieve(method).to_dict()
            session["payment_intent"] = intent
        return session

    found = _call(read, credentials)
    if found is None:
        return None
    kind = "payment_intent" if found.get("object") == "payment_intent" else "checkout.session"
    return _event(f"fetch:{reference}", kind, found, datetime.now(UTC))


def _intent(client: stripe_library.StripeClient, intent_id: str) -> dict[str, Any]:
    """A PaymentIntent with its latest charge (what was refunded and disputed) expanded. The
    charge is read even when the intent came with it inline (localstripe does that), since only
    ``_charge`` adds its disputes."""
    intent: dict[str, Any] = client.v1.payment_intents.retrieve(intent_id).to_dict()
    charge = _id(intent.get("latest_charge"))
    if charge:
        intent["latest_charge"] = _charge(client, charge)
    return intent


def _charge(client: stripe_library.StripeClient, charge_id: str) -> dict[str, Any]:
    """A charge, with its disputes (``disputes``: not a field of Stripe's, ours) when it says it
    was ``disputed``: one more call only for the rare disputed charge. Stripe opens at most one
    dispute per charge; a page of 100 holds every one."""
    charge: dict[str, Any] = client.v1.charges.retrieve(charge_id).to_dict()
    if charge.get("disputed"):
        found = client.v1.disputes.list(params={"charge": charge_id, "limit": 100}).to_dict()
        charge["disputes"] = [d for d in found.get("data") or [] if isinstance(d, dict)]
    return charge


def _reversed(charge: Any) -> tuple[int, Status | None]:
    """What went back of a charge in all, and the status that says so: its refunds
    (``refunded``) and the disputes it lost (``disputed``: Stripe took that money back; a
    dispute won or still open reverses nothing). Amounts in the charge's currency."""
    if not isinstance(charge, dict):
        return 0, None
    refunded = int(charge.get("amount_refunded") or 0)
    currency = str(charge.get("currency") or "").lower()
    lost = sum(
        int(dispute.get("amount") or 0)
        for dispute in charge.get("disputes") or []
        if isinstance(dispute, dict)
        and dispute.get("status") == "lost"
        and str(dispute.get("currency") or currency).lower() == currency
    )
    return refunded + lost, "disputed" if lost else "refunded" if refunded else None


def _failure(intent: dict[str, Any]) -> tuple[str | None, str | None]:
    """Why a PaymentIntent's last attempt failed: the decline code (else the error's code) and
    Stripe's message."""
    error = intent.get("last_payment_error") or {}
    if not isinstance(error, dict):
        return None, None
    return error.get("decline_code") or error.get("code"), error.get("message")


def _card(method: Any) -> dict[str, Any]:
    """An expanded PaymentMethod's card (brand, last4), or nothing."""
    card = method.get("card") if isinstance(method, dict) else None
    return {"card_brand": card.get("brand"), "card_last4": card.get("last4")} if isinstance(card, dict) else {}


def _event(event_id: str, kind: str, obj: dict[str, Any], at: datetime) -> ProviderEvent:
    """An event (or a fetched session, ``kind`` "checkout.session") about ``obj`` in our terms."""
    metadata = obj.get("metadata") or {}
    currency = str(obj.get("currency") or "").upper() or None
    common: dict[str, Any] = {
        "id": event_id,
        "provider": NAME,
        "type": kind,
        "occurred_at": at,
        "currency": currency,
        "checkout_session": metadata.get("checkout_session") or obj.get("client_reference_id"),
        "invoice": metadata.get("invoice"),
        "customer_reference": _id(obj.get("customer")),
        "payment": metadata.get("payment"),  # ours, on an off-session charge's PaymentIntent
    }
    match obj.get("object"):
        case "checkout.session":
            return _session(common, kind, obj)
        case "payment_intent":
            return _payment_intent(common, kind, obj)
        case "charge":
            reversed_, reversal = _reversed(obj)
            return ProviderEvent(
                **common,
                status=reversal if STATUSES.get(kind) else None,
                provider_status="refunded" if obj.get("refunded") else "partially_refunded",
                payment_reference=_id(obj.get("payment_intent")),
                amount_received=obj.get("amount_captured", obj.get("amount")),
                amount_reversed=reversed_,
            )
        case "dispute":
            lost = obj.get("status") == "lost"
            return ProviderEvent(
                **common,
                status=STATUSES.get(kind) if lost else None,
                provider_status=obj.get("status"),
                payment_reference=_id(obj.get("payment_intent")),
                amount_reversed=obj.get("amount") if lost else None,
            )
    return ProviderEvent(**common, status=None)


def _payment_intent(common: dict[str, Any], kind: str, intent: dict[str, Any]) -> ProviderEvent:
    """A PaymentIntent: its event type's status (or, fetched, its own status: refunded or
    disputed once its charge was), with why its last attempt failed."""
    status = STATUSES.get(kind) if kind != "payment_intent" else INTENT_STATUSES.get(str(intent.get("status")))
    reversed_, reversal = _reversed(intent.get("latest_charge"))
    if status == "succeeded" and reversal:
        status = reversal
    code, message = _failure(intent) if status == "failed" else (None, None)
    received = intent.get("amount_received")
    if received is None and status in ("succeeded", "refunded", "disputed"):
        received = intent.get("amount")  # Stripe always says; localstripe (the stand-in) does not
    return ProviderEvent(
        **common,
        status=status,
        provider_status=intent.get("status"),
        reference=intent.get("id") if kind == "payment_intent" else None,
        payment_reference=intent.get("id"),
        amount_received=received,
        amount_reversed=reversed_ or None,
        payment_method=_id(intent.get("payment_method")),
        failure_code=code,
        failure_message=message,
    )


def _session(common: dict[str, Any], kind: str, session: dict[str, Any]) -> ProviderEvent:
    """A Checkout Session: its event type's status (or, fetched, its own status), pending
    while unpaid, refunded or disputed once its payment's charge was refunded or lost a dispute."""
    paid = session.get("payment_status") in ("paid", "no_payment_required")
    status = STATUSES.get(kind) or STATUSES.get(str(session.get("status")))
    if status == "succeeded" and not paid:
        status = "pending"
    intent = session.get("payment_intent")
    intent = intent if isinstance(intent, dict) else {}
    reversed_, reversal = _reversed(intent.get("latest_charge"))
    if status == "succeeded" and reversal:
        status = reversal
    return ProviderEvent(
        **common,
        status=status,
        provider_status=f"{session.get('status')}/{session.get('payment_status')}",
        reference=session.get("id"),
        payment_reference=_id(session.get("payment_intent")),
        amount_received=intent.get("amount_received", session.get("amount_total")) if paid else 0,
        amount_reversed=reversed_ or None,
        payment_method=_id(intent.get("payment_method")),
        **_card(intent.get("payment_method")),
    )


def _call(action: Any, credentials: Credentials) -> Any:
    """``action(client)`` with a client for the tenant's key on the platform's Stripe base URL;
    Stripe's errors as ``ProviderError``. Objects come back as plain dicts."""
    import stripe

    client = stripe.StripeClient(
        credentials.api_key.get_secret_value(),
        base_addresses={"api": get_settings().stripe_api_base},
        http_client=stripe.RequestsClient(timeout=TIMEOUT),
        max_network_retries=1,
    )
    try:
        result = action(client)
    except stripe.StripeError as refused:
        raise ProviderError(NAME, refused.http_status or 0, refused.user_message or "request failed") from None
    return result.to_dict() if isinstance(result, stripe.StripeObject) else result


def _id(value: Any) -> str | None:
    """An object's id whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) else None


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None
