"""What each kind of source record contributes to the report buckets (``buckets.py``).

- A subscription: its MRR timeline (``mrr.py``) as daily changes in the ``MRR`` buckets of
  its customer's slices, in total (group ``""``) and for its plan (``plan:{code}``):
  ``mrr`` (the change of MRR), ``subs`` (of active subscriptions), and the movements, each a
  positive amount of MRR: ``new`` (from 0 the first time), ``reactivation`` (from 0 again),
  ``expansion``, ``contraction``, ``churn`` (to 0). Movements are classified per group, so a
  plan change is churn of one plan and new MRR of the other, and an expansion in total.
- A finalized invoice (open, paid, uncollectible; a voided one contributes nothing): its
  ``total`` as ``invoiced`` in the ``REV`` bucket of the month it was issued, in total and
  split over its charge lines by plan, meter and supplier (each line net of its discounts,
  plus its exclusive taxes, so the lines add up to the total; a line without one goes to the
  group without a value, ``plan:``); while open, its ``amount_due`` in the ``AGE`` bucket of
  its due date (``due``, with ``n`` = 1 invoice); and each usage line's quantity (``qty``, in
  millionths of a unit, so exact: quantities have at most six decimals) in the ``USG`` bucket
  of its meter and the month its usage period started: the usage billed.
- A payment: the money kept (``amount_received`` less ``amount_refunded``) as ``collected``
  in the month it was paid (``paid_at``, else its creation), in total and by supplier (its
  allocations; customer credit and refunds in ``supplier:``).
- A credit note: its ``total`` as ``credited`` in the month it was issued, in total and over
  the invoice lines it credits (by plan, meter, supplier).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from billing.customers.model import Customer
from billing.invoicing.credit_notes import CreditNote
from billing.invoicing.lines import CHARGE_TYPES, Line
from billing.invoicing.model import Invoice
from billing.payments.model import Payment
from billing.quantities import MAX_DECIMALS
from billing.reports.buckets import Contribution, slices, spread
from billing.reports.mrr import Point

FINALIZED = frozenset({"open", "paid", "uncollectible"})
GROUPINGS = ("plan", "meter", "supplier")


def subscription(currency: str, points: Sequence[Point], customer: Customer | None) -> Contribution:
    """The ``MRR`` buckets of a subscription's timeline."""
    where, into = slices(customer), Contribution()
    levels: dict[str, tuple[int, int]] = {}  # group -> (mrr, counted) before the point
    ever: set[str] = set()  # groups in which it had MRR
    for point in points:
        now = {"": (point.mrr, int(point.counted)), f"plan:{point.plan}": (point.mrr, int(point.counted))}
        for group in levels.keys() | now.keys():
            (before, was), (after, counted) = levels.get(group, (0, 0)), now.get(group, (0, 0))
            moves = _movement(before, after, group in ever)
            spread(
                into, "MRR", currency, where, [group], point.at[:10], mrr=after - before, subs=counted - was, **moves
            )
            if after > 0:
                ever.add(group)
        levels = now
    return into


def _movement(before: int, after: int, had: bool) -> dict[str, int]:
    if before == after:
        return {}
    if before == 0:
        return {"reactivation": after} if had else {"new": after}
    if after == 0:
        return {"churn": before}
    return {"expansion": after - before} if after > before else {"contraction": before - after}


def invoice(invoice: Invoice, customer: Customer | None, plan_code: Callable[[str], str]) -> Contribution:
    """The ``REV`` (invoiced) and ``AGE`` (open) buckets of a finalized invoice."""
    into = Contribution()
    if invoice.status not in FINALIZED or not invoice.issued_at:
        return into
    where, month, currency = slices(customer), invoice.issued_at[:7], invoice.currency
    spread(into, "REV", currency, where, [""], month, invoiced=invoice.total)
    for line in invoice.lines:
        if line.type in CHARGE_TYPES:
            amount = line.amount - line.discount_amount + sum(t.amount for t in line.tax_amounts if not t.inclusive)
            spread(into, "REV", currency, where, _groups(line, plan_code), month, invoiced=amount)
    billed: set[tuple[str, str | None, str | None]] = set()  # a meter's period, counted once
    for line in invoice.lines:  # however many charges of the plan rate the same meter
        period = (line.meter or "", line.period_start, line.period_end)
        if line.type == "usage" and line.meter and line.quantity and period not in billed:
            billed.add(period)
            started = (line.period_start or invoice.period_start)[:7]
            spread(into, "USG", currency, where, [f"meter:{line.meter}"], started, qty=millionths(line.quantity))
    if invoice.status == "open" and invoice.amount_due > 0 and invoice.due_date:
        spread(into, "AGE", currency, where, [""], invoice.due_date[:10], due=invoice.amount_due, n=1)
    return into


def millionths(quantity: str) -> int:
    """A quantity (a decimal string, at most six decimals) as an integer count of millionths."""
    return int(Decimal(quantity).scaleb(MAX_DECIMALS))


def _groups(line: Line, plan_code: Callable[[str], str]) -> list[str]:
    return [f"plan:{plan_code(line.plan) if line.plan else ''}", f"meter:{line.meter or ''}",
            f"supplier:{line.supplier or ''}"]  # fmt: skip


def payment(payment: Payment, customer: Customer | None) -> Contribution:
    """The ``REV`` (collected) buckets of a payment."""
    into = Contribution()
    kept = payment.amount_received - payment.amount_refunded
    if payment.amount_received <= 0:
        return into
    where, month = slices(customer), (payment.paid_at or payment.created_at)[:7]
    spread(into, "REV", payment.currency, where, [""], month, collected=kept)
    allocated = 0
    for allocation in payment.allocations:
        spread(into, "REV", payment.currency, where, [f"supplier:{allocation.supplier or ''}"], month,
               collected=allocation.amount)  # fmt: skip
        allocated += allocation.amount
    spread(into, "REV", payment.currency, where, ["supplier:"], month, collected=kept - allocated)
    return into


def credit_note(note: CreditNote, invoice: Invoice | None, customer: Customer | None,
                plan_code: Callable[[str], str]) -> Contribution:  # fmt: skip
    """The ``REV`` (credited) buckets of a credit note."""
    into = Contribution()
    where, month = slices(customer), note.created_at[:7]
    spread(into, "REV", note.currency, where, [""], month, credited=note.total)
    lines = {line.id: line for line in invoice.lines} if invoice else {}
    attributed = dict.fromkeys(GROUPINGS, 0)
    for credited in note.lines:
        amount = credited.amount + sum(t.amount for t in credited.tax_amounts if not t.inclusive)
        source = lines.get(credited.invoice_line) or Line(id="", type="adjustment", description="", amount=0,
                                                          supplier=credited.supplier)  # fmt: skip
        spread(into, "REV", note.currency, where, _groups(source, plan_code), month, credited=amount)
        for grouping in GROUPINGS:
            attributed[grouping] += amount
    for grouping in GROUPINGS:  # what no line accounts for (rounding of taxes), unattributed
        spread(into, "REV", note.currency, where, [f"{grouping}:"], month, credited=note.total - attributed[grouping])
    return into
