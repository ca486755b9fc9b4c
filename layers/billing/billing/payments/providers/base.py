"""What every payment provider module offers, and the normalized data it speaks.

A provider module (``stripe``, ``whitepay``, ``coinbase_commerce``) is the one place that knows
a provider's wire format. It creates the hosted checkout, verifies a webhook on the raw body
before reading a byte of it, parses the verified body into a ``ProviderEvent`` whose status is
ours (its ``STATUSES`` table maps the provider's event types and statuses), and asks the
provider for the current truth (``fetch``), as Kill Bill's payment plugin API
(``getPaymentInfo``) and Lago's ``PaymentProviders::*`` services do. Storage, routing and
pages live elsewhere: these modules hold no state.

Amounts are integers in the currency's minor unit here, decimal strings on the providers'
wires (``to_minor``/``from_minor``, never a float).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from billing.currency import exponent, is_currency
from billing.payments.model import Channel, Status


class Credentials(BaseModel):
    """What a tenant configures for one provider (each module subclasses it). Secrets are
    ``SecretStr``: a repr or a log line shows ``**********``, never the value."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, str_min_length=1)

    def of_other_mode(self, livemode: bool) -> str | None:
        """The field whose value says it belongs to the other mode (a test key on a live
        account takes test cards as payments of live invoices); None when none does, or when
        the provider's credentials do not say their mode."""
        return None


@dataclass(frozen=True)
class CheckoutRequest:
    """A hosted checkout to create: ``checkout_session`` is our ``chk_...`` id, which the
    provider echoes back in its webhooks (metadata, external order id), so an event finds
    its session. ``save_card`` asks a card provider to keep the card for off-session
    charges; ``customer_reference`` is the provider's customer to keep it on (else one is
    created)."""

    checkout_session: str
    invoice: str | None
    amount: int  # minor units
    currency: str  # ISO 4217, upper case
    description: str
    customer_email: str | None
    success_url: str
    cancel_url: str
    expires_at: datetime
    save_card: bool = False
    customer_reference: str | None = None
    attempt: int = 0  # earlier payments started with this provider on the session: a new one is another checkout

    def metadata(self) -> dict[str, str]:
        """What the provider keeps on its object and echoes in webhooks: our ids."""
        return {"checkout_session": self.checkout_session, **({"invoice": self.invoice} if self.invoice else {})}


@dataclass(frozen=True)
class ProviderCheckout:
    """The provider's side of a checkout: its id (``reference``, what ``fetch`` takes) and the
    hosted page the customer is sent to."""

    reference: str
    url: str
    expires_at: datetime | None


@dataclass(frozen=True)
class SavedCardCharge:
    """A saved card to charge without the customer (off-session): ``customer_reference`` and
    ``payment_method`` are the provider's ids the card was saved under; ``idempotency_key``
    makes the provider answer a repeated request (a redelivered event) with the first charge."""

    amount: int  # minor units
    currency: str  # ISO 4217, upper case
    customer_reference: str
    payment_method: str
    description: str
    metadata: dict[str, str]
    idempotency_key: str


@dataclass(frozen=True)
class ProviderCharge:
    """The provider's answer to a ``SavedCardCharge``: its money movement (``reference``, e.g.
    a PaymentIntent), ``pending`` or ``succeeded`` while the provider confirms it by webhook,
    or ``failed`` with the provider's reason (a decline)."""

    reference: str
    status: Status
    failure_code: str | None = None
    failure_message: str | None = None


@dataclass(frozen=True)
class ProviderEvent:
    """A verified webhook, or the provider's answer to ``fetch``, in our terms.

    ``status`` is None when the event says nothing our payments act on (a well-signed event
    of a type we do not map): it is stored and changes nothing. ``reference`` is the
    provider's checkout (Stripe Checkout Session, Whitepay order, Coinbase charge);
    ``payment_reference`` the provider's money movement where it differs (Stripe's
    PaymentIntent, which refund and dispute events name instead of the session).
    ``amount_received`` is what arrived, in minor units of ``currency`` (the checkout's
    currency, as the provider reports it); ``amount_reversed`` what went back (refunded,
    disputed, an overpayment returned to the payer). ``type`` and ``provider_status`` are the
    provider's own words, kept for the record. ``payment`` is our payment's id as the
    provider's object carries it (Stripe's ``metadata.payment`` of an off-session charge): the
    report finds its payment by it when no reference of ours matches yet."""

    id: str
    provider: str
    type: str
    status: Status | None
    occurred_at: datetime
    provider_status: str | None = None
    checkout_session: str | None = None
    invoice: str | None = None
    reference: str | None = None
    payment_reference: str | None = None
    amount_received: int | None = None
    amount_reversed: int | None = None
    currency: str | None = None
    customer_reference: str | None = None
    payment_method: str | None = None
    card_brand: str | None = None  # the payment method's card, where the provider tells (a card saved)
    card_last4: str | None = None
    failure_code: str | None = None  # why the money did not move (a decline's code)
    failure_message: str | None = None
    payment: str | None = None  # our payment's id where the provider echoes it (an off-session charge's metadata)


SignatureProblem = Literal["missing", "forged", "stale"]


class InvalidSignature(Exception):
    """The webhook cannot be trusted: its signature is ``missing``, ``forged`` (does not match,
    or cannot be read) or ``stale`` (signed too long ago: a replay). Nothing of it is read."""

    def __init__(self, reason: SignatureProblem, detail: str) -> None:
        super().__init__(f"{reason} signature: {detail}")
        self.reason: SignatureProblem = reason


class ProviderError(Exception):
    """The provider refused a call or could not be reached; ``status`` is its HTTP status (0:
    no answer). The message is the provider's own, without credentials."""

    def __init__(self, provider: str, status: int, message: str) -> None:
        super().__init__(f"{provider}: {message}" + (f" (HTTP {status})" if status else ""))
        self.provider, self.status = provider, status


AnyCredentials = Credentials  # the name the Protocol's ``Credentials`` member hides


class Refunder(Protocol):
    """A provider that returns money through its API (``billing.payments.refunds``): Stripe.
    The crypto providers have no such call (returning crypto is a transfer the merchant makes
    in the provider's own dashboard), so their refunds, as offline ones, are only recorded."""

    def refund(self, credentials: Any, payment_reference: str, amount: int, idempotency_key: str) -> ProviderEvent:
        """Return ``amount`` (minor units) of the money movement ``payment_reference``; the
        same ``idempotency_key`` makes a repeated request get the first refund back. The
        answer is the provider's truth after it (``status`` ``refunded``, ``amount_reversed``
        what went back in all, every refund of the payment counted), as ``fetch`` would tell."""


class Provider(Protocol):
    """One provider module. ``credentials`` is an instance of the module's ``Credentials``.
    (Members are read-only so that a module's narrower ``Credentials`` class fits.)"""

    @property
    def NAME(self) -> str: ...

    @property
    def CHANNEL(self) -> Channel: ...

    @property
    def Credentials(self) -> type[AnyCredentials]:
        """What a tenant configures: validate a tenant's input with it."""

    @property
    def STATUSES(self) -> Mapping[str, Status]:
        """The provider's event types and statuses, as ours."""

    def create_checkout(self, credentials: Any, request: CheckoutRequest) -> ProviderCheckout: ...

    def verify(self, credentials: Any, raw_body: bytes, headers: Mapping[str, str], now: datetime) -> ProviderEvent: ...

    def fetch(self, credentials: Any, reference: str) -> ProviderEvent | None: ...


class CardOnFile(Protocol):
    """A provider that keeps cards for later (``billing.payments.saved_cards``): Stripe."""

    def charge_saved(self, credentials: Any, charge: SavedCardCharge) -> ProviderCharge: ...


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A request header by name, whatever its case (API Gateway lower-cases some, not all)."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(signature: str, secret: str, candidates: list[bytes]) -> bool:
    """Whether ``signature`` (hex) is the HMAC-SHA256 of one of ``candidates``; each is
    compared in constant time."""
    given = signature.strip().lower().encode(errors="replace")  # bytes: a header may hold any character
    return any(hmac.compare_digest(hmac_sha256_hex(secret, candidate).encode(), given) for candidate in candidates)


def to_minor(amount: str | None, currency: str | None) -> int | None:
    """A provider's decimal string (``"12.50"``) in minor units of an ISO 4217 ``currency``;
    None when either is missing or the currency has no minor unit we know (a crypto ticker).
    Finer amounts (a crypto payment worth ``"10.005"`` USD) round down: a customer is never
    credited more than arrived."""
    if amount is None or currency is None or not is_currency(currency.upper()):
        return None
    try:
        value = Decimal(str(amount)).scaleb(exponent(currency.upper()))
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def from_minor(amount: int, currency: str) -> str:
    """Minor units as the decimal string providers take (``1250`` USD -> ``"12.50"``)."""
    places = exponent(currency)
    return f"{Decimal(amount).scaleb(-places):.{places}f}"


def settled(status: Status | None, asked: int | None, received: int | None) -> Status | None:
    """A crypto provider's mapped status, corrected by what arrived: less than asked is
    ``partially_paid`` (what arrived is recorded; the invoice stays open for the rest), and
    a full payment that arrived after the order failed or expired is still ``succeeded`` (a
    late payment is recorded). More than asked stays ``succeeded``: the excess is credit."""
    if asked is None or received is None or received <= 0:
        return status
    if status not in ("succeeded", "failed", "expired", "partially_paid"):
        return status  # pending stays pending until the provider confirms; reversals stay
    return "partially_paid" if received < asked else "succeeded"


def unreadable(provider: str, raw_body: bytes, now: datetime) -> ProviderEvent:
    """A well-signed body we cannot read: an event that changes nothing, its id the body's
    digest, so a redelivery of the same body is recognised as the same event."""
    return ProviderEvent(
        id="sha256:" + hashlib.sha256(raw_body).hexdigest(),
        provider=provider,
        type="unreadable",
        status=None,
        occurred_at=now,
    )


UNREADABLE = (ValueError, KeyError, TypeError, AttributeError)
"""What parsing a signed body of an unexpected shape may raise: it is then ``unreadable``."""
