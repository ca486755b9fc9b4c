"""Checkout sessions: a link a tenant sends one customer to pay an invoice, or to top up its
balance, on our hosted page (``/pay/<token>``; the page itself is ``billing.payments.hosted``).

- The link's token is 256 random bits (``secrets.token_urlsafe``): whoever holds it may see
  what the session is for and pay it, nothing more. The page finds the session by the token's
  SHA-256 digest (a guard item), so storage keys, which show in logs and metrics, never carry
  a usable link; the session itself keeps the token so that ``GET /v1/checkout_sessions/{id}``
  can show the tenant its link again, as Stripe's does.
- A session expires 24 hours after it is created by default; ``expires_at`` may bring that
  forward to no sooner than 30 minutes ahead, and never later than 24 hours: that is the
  longest a provider's hosted checkout (Stripe's) can be kept open, and a link is a bearer
  capability, so it should not live long.
- An invoice's session is for a finalized invoice of the customer (a draft or void invoice:
  409 ``invoice_not_payable``; a paid one: 409 ``invoice_paid``); the page asks for what the
  invoice still has due when the customer pays. A top-up is a fixed amount, which becomes the
  customer's credit, in the customer's currency once it has one.
- ``status`` is derived from our records when read: ``complete`` once what it was for is
  settled (the invoice paid, the top-up received), ``expired`` once ``expires_at`` passed (or
  the invoice was voided: nothing is left to pay), else ``open``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from billing.clock import Clock, SystemClock, to_wire
from billing.customers import Customer
from billing.customers.fields import Currency
from billing.errors import Conflict, DomainRuleViolation, InvalidRequest
from billing.ids import found, new_id
from billing.invoicing.model import Invoice
from billing.payments.model import MAX_AMOUNT, Payment
from billing.scope import Scope
from billing.validation import FieldError, Input, Timestamp

Purpose = Literal["invoice", "top_up"]
Status = Literal["open", "complete", "expired"]
LIFETIME = timedelta(hours=24)
SHORTEST = timedelta(minutes=30)
TOKEN_BYTES = 32


class CheckoutSessionCreate(Input):
    """``POST /v1/checkout_sessions``: ``{"invoice"}``, or ``{"customer", "amount", "currency",
    "purpose": "top_up"}``; either may set ``expires_at``."""

    invoice: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    customer: Annotated[str, Field(min_length=1, max_length=100)] | None = None  # an id or external id
    amount: Annotated[int, Field(gt=0, le=MAX_AMOUNT)] | None = None
    currency: Currency | None = None
    purpose: Purpose | None = None
    expires_at: Timestamp | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> CheckoutSessionCreate:
        if self.invoice is not None:
            for name in ("customer", "amount", "currency"):
                if getattr(self, name) is not None:
                    raise FieldError((name,), "an invoice's session takes the invoice's customer and amount")
            if self.purpose == "top_up":
                raise FieldError(("purpose",), "a top-up names no invoice")
            return self
        if self.purpose != "top_up":
            raise FieldError(("invoice",), "give an invoice, or purpose top_up with customer, amount and currency",
                             "parameter_missing")  # fmt: skip
        for name in ("customer", "amount", "currency"):
            if getattr(self, name) is None:
                raise FieldError((name,), "required for a top-up", "parameter_missing")
        return self


class CheckoutSession(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str
    object: Literal["checkout_session"] = "checkout_session"
    livemode: bool
    purpose: Purpose
    customer: str
    invoice: str | None = None
    amount: int  # the top-up's, or what the invoice had due when the session was created
    currency: str
    expires_at: str
    created_at: str
    payments: list[str] = []  # the payments started on its page, oldest first
    token: str = Field(exclude=True)
    form_token: str = Field(exclude=True)  # the hidden field every form of its page posts back

    def expired(self, now: datetime) -> bool:
        return now >= datetime.fromisoformat(self.expires_at)

    def to_public(self, url: str | None, status: Status) -> dict[str, Any]:
        return {**self.model_dump(mode="json"), "url": url, "status": status}


def token_digest(token: str) -> str:
    """What the page looks a token up by (see the module)."""
    return hashlib.sha256(token.encode()).hexdigest()


def status_of(session: CheckoutSession, invoice: Invoice | None, payments: Sequence[Payment], now: datetime) -> Status:
    """The session's status from what our records say now (see the module)."""
    if session.purpose == "invoice":
        if invoice is not None and invoice.status == "paid":
            return "complete"
    elif any(payment.status in ("succeeded", "refunded", "disputed") for payment in payments):
        return "complete"
    if session.expired(now) or (invoice is not None and invoice.status in ("void", "uncollectible")):
        return "expired"
    return "open"


class CheckoutSessionRepository(Protocol):
    def create(self, scope: Scope, session: CheckoutSession) -> None:
        """Write the session and its token's guard item at once."""

    def get(self, scope: Scope, session_id: str) -> CheckoutSession | None: ...

    def by_token(self, digest: str) -> tuple[Scope, CheckoutSession] | None:
        """The session whose token has this digest, with its tenant and mode."""

    def attach(self, scope: Scope, session: CheckoutSession, payment: Payment) -> None:
        """Write a pending provider ``payment`` started on the session's page, its provider
        reference and the session's list of payments at once; a ``Conflict`` when the
        provider's checkout belongs to a payment already (the provider answered an earlier
        request again)."""


@dataclass(frozen=True)
class Lookups:
    """What sessions read of the rest of the core."""

    customer_of: Callable[[Scope, str], Customer | None]
    invoice_of: Callable[[Scope, str], Invoice | None]
    payments_of: Callable[[Scope, Sequence[str]], Sequence[Payment]]


class CheckoutSessions:
    def __init__(
        self, repo: CheckoutSessionRepository, lookups: Lookups, base_url: str | None, clock: Clock | None = None
    ):
        """``base_url``: where customers reach the platform (``PUBLIC_BASE_URL``); links are
        built on it, never on a request's Host header."""
        self._repo, self._lookups, self._base_url = repo, lookups, base_url
        self._clock = clock or SystemClock()

    def create(self, scope: Scope, data: CheckoutSessionCreate) -> tuple[CheckoutSession, Status]:
        now = self._clock.now()
        expires_at = self._expiry(data.expires_at, now)
        if data.invoice is not None:
            invoice = self._payable(scope, data.invoice)
            customer, amount, currency = invoice.customer, invoice.amount_due, invoice.currency
        else:
            customer, amount, currency = self._top_up(scope, data)
        session = CheckoutSession(
            id=new_id("chk"), livemode=scope.livemode, purpose="invoice" if data.invoice else "top_up",
            customer=customer, invoice=data.invoice, amount=amount, currency=currency, expires_at=to_wire(expires_at),
            created_at=to_wire(now), token=secrets.token_urlsafe(TOKEN_BYTES),
            form_token=secrets.token_urlsafe(TOKEN_BYTES),
        )  # fmt: skip
        self._repo.create(scope, session)
        return session, "open"

    def get(self, scope: Scope, session_id: str) -> tuple[CheckoutSession, Status]:
        session = found(lambda object_id: self._repo.get(scope, object_id), session_id, "chk", "checkout session")
        return session, self.status(scope, session)

    def status(self, scope: Scope, session: CheckoutSession) -> Status:
        invoice = self._lookups.invoice_of(scope, session.invoice) if session.invoice else None
        payments = self._lookups.payments_of(scope, session.payments) if session.purpose == "top_up" else []
        return status_of(session, invoice, payments, self._clock.now())

    def url(self, session: CheckoutSession) -> str | None:
        """The link, on ``PUBLIC_BASE_URL`` (None where the platform has none configured)."""
        return f"{self._base_url}/pay/{session.token}" if self._base_url else None

    def _expiry(self, wanted: str | None, now: datetime) -> datetime:
        if wanted is None:
            return now + LIFETIME
        moment = datetime.fromisoformat(wanted)
        if not now + SHORTEST <= moment <= now + LIFETIME:
            raise InvalidRequest("expires_at must be between 30 minutes and 24 hours from now.", param="expires_at")
        return moment

    def _payable(self, scope: Scope, invoice_id: str) -> Invoice:
        invoice = self._lookups.invoice_of(scope, invoice_id)
        if invoice is None:
            raise InvalidRequest(f"No such invoice: '{invoice_id}'.", code="resource_missing", param="invoice")
        if invoice.status == "paid" or (invoice.status == "open" and invoice.amount_due == 0):
            raise Conflict("This invoice is paid: there is nothing left to pay.", code="invoice_paid", param="invoice")
        if invoice.status != "open":
            raise Conflict(f"A {invoice.status} invoice cannot be paid.", code="invoice_not_payable", param="invoice")
        return invoice

    def _top_up(self, scope: Scope, data: CheckoutSessionCreate) -> tuple[str, int, str]:
        assert data.customer is not None and data.amount is not None and data.currency is not None
        customer = self._lookups.customer_of(scope, data.customer)
        if customer is None:
            raise InvalidRequest(f"No such customer: '{data.customer}'.", code="resource_missing", param="customer")
        if customer.currency and customer.currency != data.currency:
            raise DomainRuleViolation(
                f"The customer is billed in {customer.currency}; this top-up is in {data.currency}.",
                code="currency_mismatch",
                param="currency",
            )
        return customer.id, data.amount, data.currency
