"""The payment entity and what the API takes to record one.

A payment is money a customer sent: through a provider (a card through Stripe, crypto through
Whitepay ...) or offline (a bank transfer, the cash desk, a terminal), recorded by the tenant.
Once it has ``succeeded`` it is allocated: to the invoice it was made for, else to the
customer's oldest open invoices, each invoice's share split over its suppliers; what no invoice
asks for becomes customer credit (``credited``), which the next finalized invoice uses.

States only move forward: ``pending`` -> ``succeeded`` / ``partially_paid`` (less than asked
arrived; what arrived is allocated) / ``failed`` / ``expired``; a settled payment can end
``refunded`` or ``disputed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from billing.customers.fields import Currency, Metadata
from billing.errors import InvalidRequest
from billing.events import DomainEvent
from billing.pagination import PageRequest, page_request
from billing.scope import Scope
from billing.validation import Input, Timestamp, choice_param, id_param

Status = Literal["pending", "succeeded", "partially_paid", "failed", "expired", "refunded", "disputed"]
Channel = Literal["card", "crypto", "bank_transfer", "cash_desk", "terminal", "other"]
OfflineChannel = Literal["bank_transfer", "cash_desk", "terminal", "other"]
OFFLINE = "offline"  # the provider of payments the tenant records itself
MAX_AMOUNT = 10**15


class Allocation(BaseModel):
    """What a payment gave one supplier's part of one invoice (``supplier`` None: the part
    billed on the tenant's own behalf)."""

    model_config = ConfigDict(defer_build=True)

    invoice: str
    supplier: str | None = None
    amount: int


class Payment(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str
    object: Literal["payment"] = "payment"
    livemode: bool
    customer: str
    invoice: str | None = None  # the invoice it was made for, if any
    provider: str  # "offline", "stripe", "whitepay" ...
    method: str | None = None  # the provider's: "card", "usdt" ...
    channel: Channel
    amount: int  # asked for, in the currency's minor unit
    amount_received: int = 0  # what arrived (less than asked: partially paid)
    currency: str
    status: Status
    provider_reference: str | None = None  # the provider's checkout (cs_..., an order id), or the bank's
    payment_reference: str | None = None  # the provider's money movement where it differs (Stripe's pi_...)
    checkout_session: str | None = None  # the chk_... it was made through
    checkout_url: str | None = None  # the provider's hosted page, while it is pending
    allocations: list[Allocation] = []
    credited: int = 0  # what no invoice asked for: customer credit
    amount_refunded: int = 0
    save_card: bool = False  # the customer asked, on the hosted page, to keep the card for later invoices
    off_session: bool = False  # a saved card charged without the customer, when the invoice was finalized
    failure_code: str | None = None  # why the provider refused it (``card_declined``, ``insufficient_funds``)
    failure_message: str | None = None  # the provider's words, for collections and the customer
    description: str | None = None
    metadata: dict[str, str] = {}
    paid_at: str | None = None
    created_at: str
    revision: int = Field(default=1, exclude=True)  # bumped by every change of a stored payment

    def to_public(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class PaymentCreate(Input):
    """``POST /v1/payments``: a payment the tenant received outside the platform. The field
    types are the API's shared ones (``Currency`` in upper case, ``Timestamp`` with a zone,
    ``Metadata``), so a payment is refused exactly as a customer or a test clock would be."""

    customer: Annotated[str, Field(min_length=1, max_length=100)]  # an id, or the tenant's external id
    amount: Annotated[int, Field(gt=0, le=MAX_AMOUNT)]
    currency: Currency
    channel: OfflineChannel
    paid_at: Timestamp | None = None  # default: now
    invoice: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    reference: Annotated[str, Field(min_length=1, max_length=200)] | None = None  # the bank's, the receipt's
    description: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    metadata: Metadata = {}


@dataclass(frozen=True)
class PaymentQuery:
    """List filters: a customer's, an invoice's (made for it, or first allocated to it), by
    status, by provider."""

    customer: str | None = None
    invoice: str | None = None
    status: Status | None = None
    provider: str | None = None
    page: PageRequest = field(default_factory=PageRequest)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> PaymentQuery:
        """``GET /v1/payments``' query string; a 400 naming a bad parameter."""
        provider = params.get("provider")
        if provider is not None and not (provider.isascii() and provider.replace("_", "").isalnum()):
            raise InvalidRequest("provider must be a provider's name, e.g. stripe or offline.", param="provider")
        return cls(
            customer=id_param(params, "customer", "cus"),
            invoice=id_param(params, "invoice", "inv"),
            status=choice_param(params, "status", get_args(Status)),
            provider=provider,
            page=page_request(params, "pay"),
        )


def payment_event(kind: str, scope: Scope, payment: Payment, at: str) -> DomainEvent:
    """``PaymentSucceeded``, ``PaymentFailed`` ...: the payment as the API shows it."""
    return DomainEvent(
        type=kind, scope=scope, occurred_at=datetime.fromisoformat(at), data={"object": payment.to_public()}
    )
