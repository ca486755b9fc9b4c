"""The customer entity and the request models that create and change it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import Field

from billing.catalog.fields import Code, Percent
from billing.clock import to_wire
from billing.customers.fields import (
    Channels,
    Country,
    Currency,
    Email,
    ExternalId,
    Metadata,
    Phone,
    Tags,
    TaxRateIds,
    Text,
)
from billing.notifications.model import DEFAULT_CHANNELS, DEFAULT_LOCALE, Channel, Locale
from billing.pagination import PageRequest, page_request
from billing.validation import Input, choice_param

BillingMode = Literal["postpaid", "prepaid"]
Status = Literal["active", "suspended", "archived"]


class Address(Input):
    country: Country | None = None
    region: Text | None = None
    city: Text | None = None
    line1: Text | None = None
    postal_code: Text | None = None


class CustomerDiscount(Input):
    """A standing discount of the customer's (a benefit): ``percent_off`` every invoice,
    on the charges of one ``supplier`` or on all of them."""

    name: Text
    percent_off: Percent
    supplier: Code | None = None


class CustomerUpdate(Input):
    """``PATCH /v1/customers/{id}``: only the fields sent change; ``null`` clears one."""

    external_id: ExternalId | None = None
    name: Text | None = None
    email: Email | None = None
    phone: Phone | None = None
    currency: Currency | None = None
    address: Address | None = None
    billing_mode: BillingMode | None = None
    tags: Tags | None = None
    metadata: Metadata | None = None
    tax_exempt: bool | None = None
    tax_rates: TaxRateIds | None = None
    discounts: Annotated[list[CustomerDiscount], Field(max_length=10)] | None = None
    locale: Locale | None = None
    notification_channels: Channels | None = None


class CustomerCreate(CustomerUpdate):
    """``POST /v1/customers``: the same fields, with defaults. ``external_id`` is the tenant's
    own id for the customer, unique per tenant. Taxes: rates whose country/region match the
    address apply automatically; ``tax_rates`` names rates explicitly instead, and
    ``tax_exempt`` customers pay none. ``locale`` is the language of its notifications;
    ``notification_channels`` how it gets them (``[]``: none but those the law requires)."""

    billing_mode: BillingMode = "postpaid"
    tags: Tags = []
    metadata: Metadata = {}
    tax_exempt: bool = False
    tax_rates: TaxRateIds = []
    discounts: Annotated[list[CustomerDiscount], Field(max_length=10)] = []
    test_clock: Annotated[str, Field(pattern=r"^clock_[0-9a-z]{26}$")] | None = None
    locale: Locale = DEFAULT_LOCALE
    notification_channels: Channels = list(DEFAULT_CHANNELS)


@dataclass(frozen=True)
class CustomerQuery:
    """List filters. Archived customers are listed only when asked for by status."""

    external_id: str | None = None
    email: str | None = None
    status: Status | None = None
    page: PageRequest = field(default_factory=PageRequest)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> CustomerQuery:
        """``GET /v1/customers``' query string; a 400 naming a bad parameter."""
        page = page_request(params, "cus")
        status = choice_param(params, "status", get_args(Status))
        return cls(params.get("external_id"), params.get("email"), status, page)


@dataclass(frozen=True)
class SavedCard:
    """The card a customer saved on the hosted checkout (``billing.payments.saved_cards``): the
    provider's customer it is kept on and the payment method's id, with what may be shown of it
    (brand, last four digits). No secret: a card number never reaches the platform (SAQ A)."""

    provider: str  # "stripe"
    customer_reference: str  # the provider's customer (cus_...)
    payment_method: str  # the provider's payment method (pm_...)
    brand: str | None = None
    last4: str | None = None
    saved_at: datetime | None = None

    def to_public(self) -> dict[str, Any]:
        return {"provider": self.provider, "brand": self.brand, "last4": self.last4}


@dataclass(frozen=True)
class Suspension:
    """Why a customer's access is suspended, and since when: ``suspended_for_debt`` (the
    dunning policy's ``suspend`` step), ``balance_exhausted`` (a prepaid balance ran out)."""

    reason: str
    since: datetime


@dataclass(frozen=True)
class Access:
    customer: str
    allowed: bool
    reason: str | None
    since: datetime | None

    def to_public(self) -> dict[str, Any]:
        since = to_wire(self.since) if self.since else None
        return {"object": "customer_access", "customer": self.customer, "allowed": self.allowed,
                "reason": self.reason, "since": since}  # fmt: skip


@dataclass(frozen=True)
class Customer:
    id: str
    livemode: bool
    created_at: datetime
    external_id: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    currency: str | None = None
    address: dict[str, str] | None = None
    billing_mode: BillingMode = "postpaid"
    tags: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    status: Status = "active"
    version: int = 1
    tax_exempt: bool = False
    tax_rates: tuple[str, ...] = ()
    discounts: tuple[dict[str, str], ...] = ()
    test_clock: str | None = None
    default_payment_method: SavedCard | None = None  # charged off-session when an invoice is finalized
    provider_customers: dict[str, str] = field(default_factory=dict)  # provider -> its customer id, kept
    suspension: Suspension | None = None  # status "suspended": why and since when
    locale: Locale = DEFAULT_LOCALE  # the language of its notifications
    notification_channels: tuple[Channel, ...] = DEFAULT_CHANNELS  # (): opted out (billing.notifications)

    @property
    def access(self) -> Access:
        """``GET /v1/customers/{id}/access``: whether the tenant should serve the customer."""
        if self.suspension is None:
            return Access(self.id, True, None, None)
        return Access(self.id, False, self.suspension.reason, self.suspension.since)

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "customer",
            "external_id": self.external_id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "currency": self.currency,
            "address": self.address,
            "billing_mode": self.billing_mode,
            "tags": list(self.tags),
            "metadata": self.metadata,
            "tax_exempt": self.tax_exempt,
            "tax_rates": list(self.tax_rates),
            "discounts": list(self.discounts),
            "test_clock": self.test_clock,
            "default_payment_method": self.default_payment_method.to_public() if self.default_payment_method else None,
            "locale": self.locale,
            "notification_channels": list(self.notification_channels),
            "status": self.status,
            "livemode": self.livemode,
            "created_at": to_wire(self.created_at),
        }
