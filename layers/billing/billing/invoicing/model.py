"""The invoice entity.

draft -> open (finalized: numbered, immutable) -> paid / void / uncollectible. A draft is
re-rated until it is finalized, so usage that arrives within the tenant's grace period still
counts; ``finalize_at`` says when that happens on its own. What a draft is rated from is
kept on it (``usage``, ``discounts``, ``tax_rates``), so re-rating uses the same inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from billing.catalog.tax_rates import AppliedTaxRate
from billing.decimals import ROUNDING
from billing.events import DomainEvent
from billing.invoicing.lines import Line
from billing.pagination import PageRequest, page_request
from billing.scope import Scope
from billing.usage.model import BilledPeriod
from billing.validation import choice_param, id_param, timestamp_param

Status = Literal["draft", "open", "paid", "void", "uncollectible"]
BillingReason = Literal[
    "subscription_create", "subscription_cycle", "subscription_update", "subscription_cancel", "manual"
]
"""``manual``: an invoice of its own for one-off invoice items (``invoice_now``)."""


@dataclass(frozen=True)
class InvoiceQuery:
    """List filters: a customer's or a subscription's invoices, by status, by when their
    period started (``from`` inclusive, ``to`` exclusive)."""

    customer: str | None = None
    subscription: str | None = None
    status: Status | None = None
    period_from: str | None = None
    period_to: str | None = None
    page: PageRequest = field(default_factory=PageRequest)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> InvoiceQuery:
        """``GET /v1/invoices``' query string; a 400 naming a bad parameter."""
        page = page_request(params, "inv")
        status = choice_param(params, "status", get_args(Status))
        customer, subscription = id_param(params, "customer", "cus"), id_param(params, "subscription", "sub")
        start, end = (timestamp_param(params[name], name) if name in params else None for name in ("from", "to"))
        return cls(customer, subscription, status, start, end, page)


class UsageBasis(BaseModel):
    """What a draft's usage lines are rated from: a plan version over one usage period."""

    model_config = ConfigDict(defer_build=True)

    plan: str
    period_start: str
    period_end: str
    later: list[str] = []  # starts of later periods with usage (weighted meters' levels)


class Invoice(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str
    object: Literal["invoice"] = "invoice"
    livemode: bool
    customer: str
    subscription: str | None = None
    number: str | None = None
    status: Status = "draft"
    billing_reason: BillingReason
    currency: str
    period_start: str
    period_end: str
    created_at: str
    issued_at: str | None = None
    due_date: str | None = None
    finalize_at: str | None = None
    voided_at: str | None = None
    lines: list[Line] = []
    subtotal: int = 0
    discount_total: int = 0
    tax_total: int = 0
    total: int = 0
    amount_paid: int = 0
    amount_credited: int = 0
    amount_written_off: int = 0  # a tiny shortfall of a provider payment let go (payments.settlement)
    amount_due: int = 0
    starting_balance: int | None = None  # the customer's balance when finalized (negative: credit)
    applied_balance: int = 0  # customer credit this invoice used
    ending_balance: int | None = None  # after it: what credit is left, plus a negative total's
    line_credits: dict[str, int] = {}  # per line id: what credit notes took off it
    supplier_paid: dict[str, int] = {}  # per supplier ("": the tenant's own lines): what payments gave it
    rounding: str = ROUNDING
    customer_details: dict[str, Any] = {}
    discounts: list[dict[str, Any]] = []
    tax_rates: list[AppliedTaxRate] = []
    usage: UsageBasis | None = None
    test_clock: str | None = None
    revision: int = Field(default=1, exclude=True)

    def to_public(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"usage"})


def billed_periods(invoices: Iterable[Invoice]) -> list[BilledPeriod]:
    """The usage periods the invoices bill (where late usage goes, and until when)."""
    return [
        BilledPeriod(invoice.usage.period_start, invoice.usage.period_end,
                     invoice.finalize_at if invoice.status == "draft" else None)
        for invoice in invoices
        if invoice.usage
    ]  # fmt: skip


def invoice_event(kind: str, scope: Scope, invoice: Invoice, at: str) -> DomainEvent:
    """``InvoiceCreated``, ``InvoiceFinalized`` ...: the invoice as the API shows it."""
    return DomainEvent(
        type=kind, scope=scope, occurred_at=datetime.fromisoformat(at), data={"object": invoice.to_public()}
    )
