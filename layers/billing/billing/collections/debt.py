"""What a customer owes as of a date (pure): the overdue principal per invoice, the late fees
and the penalty interest.

- An invoice is overdue when it is ``open`` and its due date (a UTC date) is before the date
  asked about; ``days_overdue`` counts calendar days (``billing.collections.interest``).
- An invoice's *principal* is its ``amount_due`` less the unpaid part of its own late-fee and
  penalty-interest lines (those dunning billed on it): penalties are never a base for
  interest. A payment is taken as settling the principal first, then late fees, then
  interest (so the principal, and with it the interest, stops as early as it can).
- An invoice's ``penalty_interest`` is what its principal has accrued to date under the
  policy, billed or not, rounded once (half to even).
- The totals count every amount once: ``principal`` is that of the overdue invoices;
  ``late_fees`` the unpaid late fees, on open invoices or pending as invoice items;
  ``penalty_interest`` the unpaid interest billed (on open invoices, or pending items) plus,
  per overdue invoice, what it accrued beyond what was already charged for it (items naming
  it as ``source_invoice``). ``total`` is their sum.

The principal is the invoice's current one over the whole delay: a partial payment made after
the due date lowers the interest of the days before it too (the invoice keeps no dated
history of its payments yet). ``interest.accrued`` takes a principal by day for when it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from billing.collections.interest import PenaltyInterest, accrued, days_overdue
from billing.collections.invoice_items import InvoiceItem
from billing.decimals import to_minor
from billing.invoicing.lines import Line
from billing.invoicing.model import Invoice


@dataclass(frozen=True)
class Unpaid:
    """What an open invoice still asks for, by what it is for."""

    principal: int
    late_fees: int
    interest: int


@dataclass(frozen=True)
class InvoiceDebt:
    invoice: str
    number: str | None
    due_date: str
    days_overdue: int
    principal: int
    penalty_interest: int

    def to_public(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class Debt:
    currency: str | None
    principal: int
    late_fees: int
    penalty_interest: int
    invoices: tuple[InvoiceDebt, ...]

    @property
    def total(self) -> int:
        return self.principal + self.late_fees + self.penalty_interest

    def to_public(self) -> dict[str, Any]:
        return {
            "object": "debt", "currency": self.currency, "principal": self.principal, "late_fees": self.late_fees,
            "penalty_interest": self.penalty_interest, "total": self.total,
            "invoices": [row.to_public() for row in self.invoices],
        }  # fmt: skip


def charged(line: Line) -> int:
    """What a charge line asks the customer for: after its discounts, with its exclusive taxes."""
    return line.net + sum(tax.amount for tax in line.tax_amounts if not tax.inclusive)


def unpaid(invoice: Invoice) -> Unpaid:
    """Split an open invoice's ``amount_due``: principal first paid, then fees, then interest."""
    fees = sum(charged(line) for line in invoice.lines if line.type == "late_fee")
    interest = sum(charged(line) for line in invoice.lines if line.type == "penalty_interest")
    left = invoice.amount_due
    owed_interest = min(left, max(interest, 0))
    owed_fees = min(left - owed_interest, max(fees, 0))
    return Unpaid(left - owed_interest - owed_fees, owed_fees, owed_interest)


def due_date_of(invoice: Invoice) -> date | None:
    return datetime.fromisoformat(invoice.due_date).date() if invoice.due_date else None


def debt_of(
    invoices: Sequence[Invoice],
    items: Sequence[InvoiceItem],
    terms: PenaltyInterest | None,
    as_of: date,
    currency: str | None,
) -> Debt:
    """The debt in ``currency`` as of ``as_of`` from the customer's ``invoices`` (the open ones
    are read) and its invoice items (pending ones, and what was charged per source invoice)."""
    open_ = [i for i in invoices if i.status == "open" and i.currency == currency]
    mine = [item for item in items if item.currency == currency]
    rows: list[InvoiceDebt] = []
    unbilled = 0
    for invoice in sorted(open_, key=lambda i: (i.due_date or "", i.number or "")):
        due = due_date_of(invoice)
        days = days_overdue(due, as_of) if due else 0
        if not days:
            continue
        principal = unpaid(invoice).principal
        interest = to_minor(accrued(terms, days, principal))
        charged_for = sum(i.amount for i in mine if i.kind == "penalty_interest" and i.source_invoice == invoice.id)
        unbilled += max(interest - charged_for, 0)
        rows.append(InvoiceDebt(invoice.id, invoice.number, invoice.due_date or "", days, principal, interest))
    parts = [unpaid(invoice) for invoice in open_]
    pending = [item for item in mine if item.pending]
    late_fees = sum(p.late_fees for p in parts) + sum(i.amount for i in pending if i.kind == "late_fee")
    billed_interest = sum(p.interest for p in parts) + sum(i.amount for i in pending if i.kind == "penalty_interest")
    principal = sum(row.principal for row in rows)
    return Debt(currency, principal, late_fees, billed_interest + unbilled, tuple(rows))
