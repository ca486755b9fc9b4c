"""What the portal's pages show, as typed values (the templates format them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billing.catalog.add_ons import AddOn
from billing.catalog.plans import Plan
from billing.customers import Customer
from billing.customers.model import Access
from billing.invoicing.model import Invoice
from billing.subscriptions.model import Subscription


@dataclass(frozen=True)
class SupplierDue:
    code: str | None  # None: what is billed on the tenant's own behalf
    name: str
    amount: int


@dataclass(frozen=True)
class Estimate:
    """The next invoice as billing would compute it now (``previews.upcoming``)."""

    subscription: Subscription
    invoice: Invoice

    @property
    def usage_total(self) -> int:
        """What the period's usage costs so far (its usage lines)."""
        return sum(line.amount for line in self.invoice.lines if line.type == "usage")


@dataclass(frozen=True)
class Overview:
    customer: Customer
    currency: str | None
    amount_due: int  # the open invoices' amounts due
    pay_next: Invoice | None  # the oldest open invoice with something due: the pay button's
    open_invoices: int
    customer_credit: int
    prepaid_balance: int | None  # a prepaid customer's spendable balance
    suppliers: list[SupplierDue]
    access: Access
    estimate: Estimate | None


@dataclass(frozen=True)
class Listed[T]:
    """One page of a list, newest first; ``after`` is the cursor of the next (older) page."""

    items: list[T]
    after: str | None


@dataclass(frozen=True)
class AddOnShown:
    add_on: AddOn | None
    code: str
    quantity: int


@dataclass(frozen=True)
class PlanView:
    subscription: Subscription | None
    plan: Plan | None
    add_ons: list[AddOnShown]
    choices: list[Plan]  # the tenant's current plans in the subscription's currency, but its own
    changed_at: datetime | None = None


@dataclass(frozen=True)
class PlanPreview:
    subscription: Subscription
    current: Plan
    target: Plan
    invoice: Invoice  # what the change bills now (prorations), computed and not stored
