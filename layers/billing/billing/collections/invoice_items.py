"""One-off invoice items: charges of a customer's that no plan makes (Stripe's pending invoice
items): an adjustment the tenant adds, a late fee, penalty interest.

- An item is *pending* until an invoice bills it, then names that invoice (``invoice``) and
  never changes again: it is billed exactly once. The invoice's line names the item
  (``Line.invoice_item``), and the write that stores the invoice marks the item, on the
  condition that it is still pending, in the same transaction: two invoices racing for one
  item cannot both take it (the loser's write fails and is retried without it).
- Pending items go on the customer's next subscription invoice, as one-off add-ons do
  (``SubscriptionBiller.one_offs``), when it is in the item's currency and not a trial's.
  A customer without a subscription gets them only through ``invoice_now``.
- ``invoice_now``: the item is billed at once on an invoice of its own, finalized in the write
  that creates the item (``billing.collections.items``).
- ``kind``: ``adjustment`` for items created through the API; dunning creates ``late_fee``
  and ``penalty_interest`` items, naming the overdue invoice they are charged for
  (``source_invoice``). Those are never discounted, and never a base for penalty interest.
- Voiding an invoice voids the late fees and interest still pending for it (``voided_at``,
  ``InvoiceItemVoided``): a charge for an invoice that no longer stands is never billed.
- Amounts are positive integers of the currency's minor unit (a credit is a credit note's or
  a coupon's business, not an item's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from billing.catalog.fields import Code
from billing.customers.fields import Currency
from billing.decimals import MAX_AMOUNT
from billing.invoicing.lines import PENALTY_TYPES, Line
from billing.pagination import PageRequest, page_request
from billing.validation import Input, id_param

Kind = Literal["adjustment", "late_fee", "penalty_interest"]
ITEM_PREFIX = "ii"


class InvoiceItemCreate(Input):
    """``POST /v1/invoice_items``."""

    customer: Annotated[str, Field(pattern=r"^cus_[0-9a-z]{26}$")]
    amount: Annotated[int, Field(gt=0, le=MAX_AMOUNT)]
    currency: Currency
    description: Annotated[str, Field(min_length=1, max_length=500)]
    supplier: Code | None = None
    invoice_now: bool = False


class InvoiceItem(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str
    object: Literal["invoiceitem"] = "invoiceitem"
    livemode: bool
    customer: str
    amount: int
    currency: str
    description: str
    supplier: str | None = None
    kind: Kind = "adjustment"
    source_invoice: str | None = None  # late fees and interest: the overdue invoice they are for
    invoice: str | None = None  # the invoice that billed it; None while pending
    created_at: str
    voided_at: str | None = None  # a late fee or interest whose invoice was voided: never billed

    @property
    def pending(self) -> bool:
        return self.invoice is None and self.voided_at is None

    def line(self, period: tuple[str, str]) -> Line:
        """The charge line billing this item on an invoice of ``period``."""
        return Line(
            id="", type=self.kind, description=self.description, amount=self.amount, quantity="1",
            unit_amount=str(self.amount), supplier=self.supplier, period_start=period[0], period_end=period[1],
            discountable=self.kind not in PENALTY_TYPES, invoice_item=self.id,
        )  # fmt: skip

    def to_public(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def billable(items: list[InvoiceItem], currency: str) -> list[InvoiceItem]:
    """The pending items an invoice in ``currency`` bills, oldest first."""
    return sorted((item for item in items if item.pending and item.currency == currency), key=lambda i: i.id)


def penalties_of(items: Iterable[InvoiceItem], invoice_id: str) -> list[InvoiceItem]:
    """The late fees and interest still pending for ``invoice_id``."""
    return [item for item in items if item.pending and item.source_invoice == invoice_id and item.kind != "adjustment"]


def billed_by(lines: list[Line]) -> list[str]:
    """The ids of the items ``lines`` bill (what the invoice's write marks as billed)."""
    return [line.invoice_item for line in lines if line.invoice_item]


@dataclass(frozen=True)
class ItemQuery:
    """``GET /v1/invoice_items[?customer=]``: the scope's items, or a customer's, newest first."""

    customer: str | None = None
    page: PageRequest = field(default_factory=PageRequest)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ItemQuery:
        return cls(id_param(params, "customer", "cus"), page_request(params, ITEM_PREFIX))
