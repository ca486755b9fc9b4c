"""What a provider's report does to one of our payments: the rules, without storage.

A report (a webhook, confirmed by asking the provider: ``ProviderEvent``) only ever adds
facts. What arrived (``amount_received``) and what went back (``amount_refunded``) only grow,
and the status follows from them, so the same report applied twice, or reports applied in
any order, end in the same payment and the same ledger:

- money arrived: ``succeeded`` when it covers what was asked, else ``partially_paid``; only
  the difference to what was already recorded is allocated and posted (a second report
  raising what arrived settles the rest, a repeated one settles nothing). Money arriving
  after the payment ``failed`` or ``expired`` is still recorded (a late crypto payment, a
  card accepted after a decline on the same checkout).
- nothing arrived: ``pending`` may end ``failed`` or ``expired``; nothing is posted.
- money went back (a refund, a dispute lost, a crypto overpayment returned to the payer):
  ``refunded`` or ``disputed``, and the difference to what was already reversed is posted
  back (``reversal``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from billing import ledger
from billing.events import DomainEvent
from billing.invoicing.model import Invoice, invoice_event
from billing.payments.allocation import OWN, Allocated, split
from billing.payments.model import Allocation, Payment, Status, payment_event
from billing.payments.providers import ProviderEvent
from billing.scope import Scope

MONEY_IN: tuple[Status, ...] = ("succeeded", "partially_paid", "refunded", "disputed")
REVERSALS: tuple[Status, ...] = ("refunded", "disputed")


@dataclass(frozen=True)
class Step:
    """Where a report moves a payment: its status, and what arrived and went back in all."""

    status: Status
    received: int
    reversed: int
    payment_reference: str | None


def advance(payment: Payment, truth: ProviderEvent) -> Step | None:
    """The payment as ``truth`` leaves it, or None when it tells nothing new."""
    if truth.status is None:
        return None
    received = payment.amount_received
    if truth.status in MONEY_IN and truth.amount_received:
        received = max(received, truth.amount_received)
    reversed_ = payment.amount_refunded
    if truth.status in REVERSALS and truth.amount_reversed:
        reversed_ = max(reversed_, min(truth.amount_reversed, received))
    status: Status = payment.status
    if reversed_ > payment.amount_refunded:
        status = truth.status
    elif payment.status in REVERSALS:
        pass  # a reversal is final: later reports of the money arriving change no status
    elif received > 0:
        status = "succeeded" if received >= payment.amount else "partially_paid"
    elif payment.status == "pending" and truth.status in ("failed", "expired"):
        status = truth.status
    reference = payment.payment_reference or truth.payment_reference
    step = Step(status, received, reversed_, reference)
    now = Step(payment.status, payment.amount_received, payment.amount_refunded, payment.payment_reference)
    return None if step == now else step


def received_entry(scope: Scope, payment: Payment, allocated: Allocated, received: int, now: str) -> tuple[
    ledger.JournalEntry, list[DomainEvent]
]:  # fmt: skip
    """The entry and events of ``received`` more money allocated as ``allocated`` says: the
    provider's cash debited, receivable credited by what invoices took, customer credit by
    the excess; ``PaymentSucceeded`` (its status may say ``partially_paid``), then
    ``InvoicePaid``/``InvoicePartiallyPaid`` per invoice, ``CustomerCreditChanged``."""
    postings = ledger.payment_postings(payment.provider, received, allocated.excess)
    journal = ledger.journal_entry(
        payment.customer, payment.currency, "payment_received", payment.paid_at or now, payment.id, postings
    )
    events = [payment_event("PaymentSucceeded", scope, payment, now)]
    for invoice in allocated.invoices:
        kind = "InvoicePaid" if invoice.status == "paid" else "InvoicePartiallyPaid"
        events.append(invoice_event(kind, scope, invoice, now))
    if allocated.excess:
        events.append(credit_changed(scope, payment, allocated.excess, "payment_excess", now))
    return journal, events


def credit_changed(scope: Scope, payment: Payment, amount: int, reason: str, now: str) -> DomainEvent:
    change = {"customer": payment.customer, "currency": payment.currency, "amount": amount, "reason": reason,
              "reference": payment.id}  # fmt: skip
    return DomainEvent("CustomerCreditChanged", scope, datetime.fromisoformat(now), change)


def write_off(invoice: Invoice, tolerance: int) -> tuple[Invoice, list[ledger.Posting]] | None:
    """An open invoice short of at most ``tolerance`` (the tenant's ``underpayment_tolerance``)
    paid: the shortfall written off, ``write_off`` debited against ``receivable``. The invoice
    keeps its revision (it is written once, with the allocation that left it short)."""
    due = invoice.amount_due
    if invoice.status != "open" or not 0 < due <= tolerance:
        return None
    settled = invoice.model_copy(
        update={"amount_written_off": invoice.amount_written_off + due, "amount_due": 0, "status": "paid"}
    )
    return settled, ledger.written_off(due)


@dataclass(frozen=True)
class Reversal:
    """Money a payment gave that went back, and where it is taken from (see ``reversal``)."""

    from_credit: int
    invoices: list[Invoice]  # reopened, as they become
    allocations: list[Allocation]  # negative: what each invoice and supplier gave back
    owed: int  # what neither could give back: owed on the customer's account
    postings: list[ledger.Posting]


def reversal(payment: Payment, amount: int, credit: int, invoices: Mapping[str, Invoice]) -> Reversal:
    """Reverse ``amount`` of what ``payment`` brought. The rule: the customer owes again what
    went back. It is taken first from the customer credit the payment created (``credited``,
    as far as the customer still holds ``credit``: the excess is what an overpayment refund
    returns), then from the invoices it paid, newest allocation first, which reopen
    (``amount_paid`` down, ``amount_due`` up, status ``open``, each supplier's share in
    proportion to what the payment gave it); what is left (credit already used by later
    invoices) is owed on the account. Postings: the provider's cash credited; customer credit
    and receivable debited."""
    from_credit = min(amount, payment.credited, max(credit, 0))
    left = amount - from_credit
    given: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for allocation in payment.allocations:
        given[allocation.invoice][allocation.supplier or OWN] += allocation.amount
    reopened, allocations = list[Invoice](), list[Allocation]()
    for invoice_id in reversed(list(given)):
        invoice = invoices.get(invoice_id)
        net = {key: value for key, value in given[invoice_id].items() if value > 0}
        if left == 0 or invoice is None or invoice.status not in ("open", "paid") or not net:
            continue
        back = min(left, sum(net.values()), invoice.amount_paid)
        parts = split(back, net)
        paid = {key: invoice.supplier_paid.get(key, 0) - parts.get(key, 0) for key in invoice.supplier_paid}
        reopened.append(
            invoice.model_copy(
                update={
                    "amount_paid": invoice.amount_paid - back,
                    "amount_due": invoice.amount_due + back,
                    "supplier_paid": {key: value for key, value in paid.items() if value},
                    "status": "open",
                    "revision": invoice.revision + 1,
                }
            )
        )
        allocations += [
            Allocation(invoice=invoice_id, supplier=key or None, amount=-part) for key, part in parts.items()
        ]
        left -= back
    postings = [
        ledger.Posting(ledger.cash_account(payment.provider), credit=amount),
        ledger.Posting(ledger.CUSTOMER_CREDIT, debit=from_credit),
        ledger.Posting(ledger.RECEIVABLE, debit=amount - from_credit),
    ]
    return Reversal(from_credit, reopened, allocations, left, postings)


def reversal_events(scope: Scope, payment: Payment, undone: Reversal, now: str) -> list[DomainEvent]:
    """``PaymentRefunded`` (a dispute lost too: the payment's status tells which), then
    ``InvoiceUpdated`` per reopened invoice, ``CustomerCreditChanged`` for credit taken back."""
    events = [payment_event("PaymentRefunded", scope, payment, now)]
    events += [invoice_event("InvoiceUpdated", scope, invoice, now) for invoice in undone.invoices]
    if undone.from_credit:
        events.append(credit_changed(scope, payment, -undone.from_credit, "payment_reversed", now))
    return events


def merged(first: Sequence[Invoice], then: Sequence[Invoice]) -> list[Invoice]:
    """Invoices written by one transaction, each once: a later version replaces an earlier one
    (keeping the earlier's revision: the stored one is still the revision before it)."""
    found = {invoice.id: invoice for invoice in first}
    for invoice in then:
        earlier = found.get(invoice.id)
        found[invoice.id] = invoice.model_copy(update={"revision": earlier.revision}) if earlier else invoice
    return list(found.values())
