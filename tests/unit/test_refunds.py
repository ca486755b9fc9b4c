"""Refunds through ``Payments.refund`` on memory fakes, offline payments (recorded only): how
much, refusals naming the field with nothing written, the invoice owed again or, with a credit
note, settled as it was, and a double refund refused. The provider's side (Stripe asked, its
webhook finding nothing new) is in ``test_checkout.py``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest

from billing import ledger
from billing.customers.service import find_customer
from billing.errors import BillingError, InvalidRequest, NotFound
from billing.invoicing.credit_notes import CreditNote, CreditNoteCreate
from billing.invoicing.model import Invoice
from billing.payments.model import Payment, PaymentCreate
from billing.payments.refunds import RefundCreate
from billing.payments.service import Payments
from billing.validation import parse
from tests.unit.invoicing_world import SCOPE, Billing

MARCH = datetime(2026, 3, 1, tzinfo=UTC)


def world() -> tuple[Billing, str, Invoice]:
    """A customer billed 1,000 + 10% tax a month: a March invoice of 1,100, open."""
    w = Billing(MARCH)
    w.create("plan", code="basic", name="Basic", currency="USD", interval="month", base_fee=1000)
    w.create("tax_rate", name="VAT", percent="10", country="US")
    customer = w.customer(address={"country": "US"})
    [march] = w.bill(w.subscribe(customer, "basic"))
    assert (march.total, march.amount_due) == (1100, 1100)
    return w, customer, march


def pay(w: Billing, customer: str, amount: int, **body: Any) -> Payment:
    data = {"customer": customer, "amount": amount, "currency": "USD", "channel": "bank_transfer", **body}
    return w.payments.record(SCOPE, parse(PaymentCreate, data))


def refund(w: Billing, payment: Payment, **body: Any) -> Payment:
    return w.payments.refund(SCOPE, payment.id, parse(RefundCreate, body))


def invoice(w: Billing, invoice_id: str) -> Invoice:
    found = w.invoices_repo.get(SCOPE, invoice_id)
    assert isinstance(found, Invoice)
    return found


def notes(w: Billing) -> list[CreditNote]:
    return [note for note in w.credit_notes._repo.rows.values() if isinstance(note, CreditNote)]  # type: ignore[attr-defined]


def balances(w: Billing, customer: str) -> dict[str, int]:
    entries = w.invoices_repo.journal(SCOPE, customer)
    assert all(sum(p.debit for p in e.postings) == sum(p.credit for p in e.postings) for e in entries)
    return ledger.balances(entries)


def exact(w: Billing, inv: Invoice) -> None:
    """``amount_due = total - paid - credited`` (what credit notes took off what was due)."""
    applied = sum(note.amount_applied for note in notes(w) if note.invoice == inv.id)
    assert inv.amount_due == inv.total - inv.applied_balance - inv.amount_paid - applied - inv.amount_written_off
    assert (inv.status == "paid") == (inv.amount_due == 0)


def kinds(w: Billing) -> list[str]:
    wanted = ("PaymentRefunded", "InvoiceUpdated", "CreditNoteIssued", "CustomerCreditChanged")
    return [event.type for event in w.invoices_repo.events if event.type in wanted]


def test_a_refund_of_everything_without_a_credit_note_reopens_the_invoice() -> None:
    w, customer, march = world()
    payment = pay(w, customer, 1100, invoice=march.id)
    refunded = refund(w, payment)  # no body: all that is left, no credit note
    assert (refunded.status, refunded.amount_refunded, refunded.credited) == ("refunded", 1100, 0)
    assert [(a.invoice, a.amount) for a in refunded.allocations] == [(march.id, 1100), (march.id, -1100)]
    assert w.payments.get(SCOPE, payment.id) == refunded
    reopened = invoice(w, march.id)
    assert (reopened.status, reopened.amount_paid, reopened.amount_due) == ("open", 0, 1100)
    exact(w, reopened)
    [entry] = [e for e in w.invoices_repo.journal(SCOPE, customer) if e.kind == "payment_refunded"]
    assert entry.postings == (ledger.Posting("cash:offline", credit=1100), ledger.Posting("receivable", debit=1100))
    assert balances(w, customer)["cash:offline"] == 0 and balances(w, customer)["receivable"] == 1100
    assert kinds(w) == ["PaymentRefunded", "InvoiceUpdated"] and notes(w) == []
    with pytest.raises(BillingError) as again:
        refund(w, payment)
    assert (again.value.code, again.value.param) == ("payment_already_refunded", None)


def test_a_partial_refund_with_a_credit_note_leaves_the_invoice_paid() -> None:
    w, customer, march = world()
    payment = pay(w, customer, 1100, invoice=march.id)
    refunded = refund(w, payment, amount=550, credit_note=True)
    assert (refunded.status, refunded.amount_received, refunded.amount_refunded) == ("refunded", 1100, 550)
    settled = invoice(w, march.id)
    assert (settled.status, settled.amount_paid, settled.amount_credited, settled.amount_due) == ("paid", 550, 550, 0)
    exact(w, settled)
    [note] = notes(w)
    assert (note.invoice, note.total, note.tax_total, note.amount_applied, note.amount_credited_to_customer) == (
        march.id, 550, 50, 550, 0)  # fmt: skip
    assert [(line.invoice_line, line.amount) for line in note.lines] == [(march.lines[0].id, 500)]
    assert note.memo == f"Refund of payment {payment.id}"
    after = balances(w, customer)
    assert (after["cash:offline"], after["receivable"], ledger.credit_available(after)) == (550, 0, 0)
    assert after["revenue"] == -500  # half the fee is no longer earned
    # reopened by the refund, then settled by the note: each write keeps the invoice exact
    assert kinds(w) == ["PaymentRefunded", "InvoiceUpdated", "CreditNoteIssued", "InvoiceUpdated"]


def test_a_credit_note_covers_the_refund_when_taxes_round_and_the_rest_is_credit() -> None:
    """10% of 6 rounds to 1 and of 5 to 0 (half to even): no credit with taxes comes to 6, so
    the note is the least one above (7); what the invoice does not take is customer credit."""
    w, customer, march = world()
    payment = pay(w, customer, 1100, invoice=march.id)
    refund(w, payment, amount=6, credit_note=True)
    [note] = notes(w)
    assert (note.subtotal, note.total, note.amount_applied, note.amount_credited_to_customer) == (6, 7, 6, 1)
    settled = invoice(w, march.id)
    assert (settled.status, settled.amount_paid, settled.amount_due) == ("paid", 1094, 0)
    exact(w, settled)
    assert ledger.credit_available(balances(w, customer)) == 1


def test_a_refund_over_two_invoices_credits_each_what_it_reopened() -> None:
    w, customer, march = world()
    w.at(datetime(2026, 4, 1, tzinfo=UTC))
    [april] = w.bill(march.subscription or "")
    payment = pay(w, customer, 2200)  # both, oldest first
    refund(w, payment, amount=1650, credit_note=True)  # the newest allocation goes back first
    assert sorted((note.invoice, note.total) for note in notes(w)) == sorted([(april.id, 1100), (march.id, 550)])
    for inv in (invoice(w, march.id), invoice(w, april.id)):
        assert inv.status == "paid"
        exact(w, inv)
    assert (invoice(w, march.id).amount_paid, invoice(w, april.id).amount_paid) == (550, 0)
    assert balances(w, customer)["receivable"] == 0


def test_an_overpayment_refund_takes_the_credit_first_and_credits_only_what_reopened() -> None:
    w, customer, march = world()
    payment = pay(w, customer, 1500, invoice=march.id)
    assert payment.credited == 400
    refunded = refund(w, payment, amount=600, credit_note=True)
    assert (refunded.credited, refunded.amount_refunded) == (0, 600)
    [note] = notes(w)
    assert (note.total, note.amount_applied) == (200, 200)
    settled = invoice(w, march.id)
    assert (settled.status, settled.amount_paid, settled.amount_credited) == ("paid", 900, 200)
    after = balances(w, customer)
    assert (after["cash:offline"], after["receivable"], ledger.credit_available(after)) == (900, 0, 0)
    assert "CustomerCreditChanged" in kinds(w)


def snapshot(w: Billing, customer: str) -> tuple[Any, ...]:
    return (dict(w.payments_repo.rows), list(w.invoices_repo.journal(SCOPE, customer)), len(w.invoices_repo.events),
            dict(w.invoices_repo.rows), len(notes(w)))  # fmt: skip


@pytest.mark.parametrize(
    ("body", "error", "code", "param"),
    [
        ({"amount": 0}, InvalidRequest, "parameter_invalid", "amount"),
        ({"amount": -5}, InvalidRequest, "parameter_invalid", "amount"),
        ({"amount": "500"}, InvalidRequest, "parameter_invalid", "amount"),
        ({"amount": 5.5}, InvalidRequest, "parameter_invalid", "amount"),
        ({"amount": True}, InvalidRequest, "parameter_invalid", "amount"),
        ({"credit_note": "yes"}, InvalidRequest, "parameter_invalid", "credit_note"),
        ({"reason": "duplicate"}, InvalidRequest, "parameter_unknown", "reason"),
        ({"amount": 1101}, BillingError, "amount_exceeds_refundable", "amount"),
    ],
)
def test_refusals_name_the_field_and_write_nothing(body: dict[str, Any], error: type, code: str, param: str) -> None:
    w, customer, march = world()
    payment = pay(w, customer, 1100, invoice=march.id)
    before = snapshot(w, customer)
    with pytest.raises(error) as refused:
        refund(w, payment, **body)
    assert (refused.value.code, refused.value.param) == (code, param)
    assert snapshot(w, customer) == before


@pytest.mark.parametrize("status", ["pending", "failed", "expired", "disputed"])
def test_only_money_that_arrived_can_be_refunded(status: str) -> None:
    w, customer, march = world()
    paid = pay(w, customer, 1100, invoice=march.id)
    stored = paid.model_copy(update={"status": status, "amount_received": 0 if status != "disputed" else 1100})
    w.payments_repo.rows[(SCOPE, paid.id)] = stored
    before = snapshot(w, customer)
    with pytest.raises(BillingError) as refused:
        refund(w, paid)
    assert (refused.value.code, refused.value.type) == ("payment_not_refundable", "domain_error")
    assert snapshot(w, customer) == before
    with pytest.raises(NotFound):
        w.payments.refund(SCOPE, "pay_missing", RefundCreate())


def test_a_credit_note_the_invoice_cannot_take_is_refused_before_anything_moves() -> None:
    w, customer, march = world()
    payment = pay(w, customer, 1100, invoice=march.id)
    w.credit_notes.create(SCOPE, parse(CreditNoteCreate, {"invoice": march.id}))  # all of it: customer credit
    before = snapshot(w, customer)
    with pytest.raises(BillingError) as refused:
        refund(w, payment, credit_note=True)
    assert (refused.value.code, refused.value.param) == ("credit_exceeds_invoice", "amount")
    assert snapshot(w, customer) == before


def test_a_double_refund_is_refused_even_when_both_read_the_payment_before_either_wrote() -> None:
    w, customer, march = world()
    payment = pay(w, customer, 1100, invoice=march.id)
    refund(w, payment, amount=600)
    with pytest.raises(BillingError) as sequential:
        refund(w, payment, amount=600)
    assert (sequential.value.code, sequential.value.param) == ("amount_exceeds_refundable", "amount")

    # the second of two refunds at once read the payment before the first was written
    repo, stale = w.payments_repo, payment
    real_get, reads = repo.get, []

    def first_read_stale(scope: Any, payment_id: str) -> Any:
        reads.append(payment_id)
        return stale if len(reads) == 1 else real_get(scope, payment_id)

    repo.get = first_read_stale  # type: ignore[method-assign]
    before = snapshot(w, customer)
    with pytest.raises(BillingError) as raced:
        refund(w, payment, amount=600)
    assert (raced.value.code, raced.value.param) == ("amount_exceeds_refundable", "amount")
    assert len(reads) == 2 and snapshot(w, customer) == before  # lost the write, read again, refused
    repo.get = real_get  # type: ignore[method-assign]
    rest = refund(w, payment)
    assert (rest.amount_refunded, rest.revision) == (1100, 3)
    assert [e.kind for e in w.invoices_repo.journal(SCOPE, customer)].count("payment_refunded") == 2


def test_a_recorded_refund_is_timed_by_the_customers_test_clock() -> None:
    """A refund recorded only asks the time of the customer (its test clock's), never the wall
    clock, as every other write of the customer's does."""
    w, customer, march = world()
    payment = pay(w, customer, 1100, invoice=march.id)
    stored = w.customer_repo.rows[(SCOPE, customer)]
    w.customer_repo.rows[(SCOPE, customer)] = replace(stored, test_clock="clock_1")
    asked: list[str | None] = []

    def now(scope: Any, clock: str | None) -> datetime:
        asked.append(clock)
        return w.biller.now(scope, None)

    payments = Payments(w.payments_repo, w.invoices_repo, partial(find_customer, w.customer_repo),
                        w.invoices_repo.balances, now, credit_notes=w.credit_notes)  # fmt: skip
    refunded = payments.refund(SCOPE, payment.id, RefundCreate(amount=100))
    assert refunded.amount_refunded == 100 and asked and set(asked) == {"clock_1"}
