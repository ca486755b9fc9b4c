"""How a payment is spread over open invoices and their suppliers.

Oldest first (by due date, then number): each open invoice takes what it still asks for
(``amount_due``) while money is left. Within an invoice the amount is split over its
suppliers in proportion to what each still has open: its charges net of discounts, with
their exclusive taxes, less what payments already gave it (credit notes and the customer
credit an invoice used reduce every supplier alike, so they do not change the proportions).
Splits round by the largest remainder, so the parts always sum to the whole; no float is
involved. What no invoice asks for is the payment's excess: customer credit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from billing.invoicing.model import Invoice
from billing.money import spread
from billing.payments.model import Allocation

MAX_INVOICES = 20
"""Invoices one payment pays at most: they are written in the payment's one transaction (100
operations at most). Beyond them the money is customer credit, used by the next invoices."""

OWN = ""  # the supplier key of lines billed on the tenant's own behalf


@dataclass(frozen=True)
class Allocated:
    allocations: list[Allocation]
    invoices: list[Invoice]  # the invoices paid, as the payment leaves them
    excess: int


def split(amount: int, weights: Mapping[str, int]) -> dict[str, int]:
    """``amount`` in parts proportional to ``weights`` that sum to it exactly (``spread``, in
    key order); all to the tenant's own part without weights."""
    positive = {key: weight for key, weight in sorted(weights.items()) if weight > 0}
    if not positive:
        return {OWN: amount} if amount else {}
    shares = zip(positive, spread(amount, list(positive.values())), strict=True)
    return {key: share for key, share in shares if share}


def open_by_supplier(invoice: Invoice) -> dict[str, int]:
    """What each supplier's part of the invoice still has open, as weights (see the module)."""
    gross: dict[str, int] = defaultdict(int)
    for line in invoice.lines:
        if line.is_charge:
            gross[line.supplier or OWN] += line.net + sum(t.amount for t in line.tax_amounts if not t.inclusive)
    return {supplier: amount - invoice.supplier_paid.get(supplier, 0) for supplier, amount in gross.items()}


def due_by_supplier(invoice: Invoice) -> dict[str, int]:
    """The invoice's ``amount_due`` by supplier."""
    return split(invoice.amount_due, open_by_supplier(invoice))


def oldest_first(invoices: Sequence[Invoice]) -> list[Invoice]:
    return sorted(invoices, key=lambda invoice: (invoice.due_date or "", invoice.number or "", invoice.id))


def allocate(amount: int, invoices: Sequence[Invoice]) -> Allocated:
    """``amount`` over the open ones of ``invoices``, oldest first (at most ``MAX_INVOICES``)."""
    left, allocations, paid = amount, list[Allocation](), list[Invoice]()
    for invoice in oldest_first([i for i in invoices if i.status == "open" and i.amount_due > 0]):
        if left == 0 or len(paid) == MAX_INVOICES:
            break
        take = min(left, invoice.amount_due)
        parts = split(take, open_by_supplier(invoice))
        allocations += [
            Allocation(invoice=invoice.id, supplier=key or None, amount=part) for key, part in parts.items()
        ]
        given = dict(invoice.supplier_paid)
        for key, part in parts.items():
            given[key] = given.get(key, 0) + part
        due = invoice.amount_due - take
        paid.append(
            invoice.model_copy(
                update={
                    "amount_paid": invoice.amount_paid + take,
                    "amount_due": due,
                    "supplier_paid": given,
                    "status": "paid" if due == 0 else "open",
                    "revision": invoice.revision + 1,
                }
            )
        )
        left -= take
    return Allocated(allocations, paid, left)
