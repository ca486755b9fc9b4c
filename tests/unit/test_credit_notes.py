"""Credit notes of an invoice never total more than the invoice (Stripe's rule)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing import ledger
from billing.errors import BillingError
from billing.invoicing.biller import apply_lines
from billing.invoicing.credit_notes import CreditNoteCreate
from billing.invoicing.lines import Line
from billing.invoicing.model import Invoice
from billing.subscriptions.model import ChangePlan
from billing.validation import parse
from tests.unit.invoicing_world import SCOPE, Billing

MARCH = datetime(2026, 3, 1, tzinfo=UTC)


def changed_invoice() -> tuple[Billing, Invoice]:
    """April: Pro's fee 4,900, March's unused Starter -1,287, March's rest on Pro 3,319."""
    w = Billing(MARCH)
    w.create("plan", code="pro", name="Pro", currency="USD", interval="month", base_fee=4900)
    w.create("plan", code="starter", name="Starter", currency="USD", interval="month", base_fee=1900)
    sub = w.subscribe(w.customer(), "starter")
    w.bill(sub)
    w.at(datetime(2026, 3, 11, tzinfo=UTC))
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "pro"}))
    w.at(datetime(2026, 4, 1, tzinfo=UTC))
    [april] = w.bill(sub)
    assert [line.amount for line in april.lines] == [4900, -1287, 3319] and april.total == 6932
    return w, april


def test_a_credit_note_without_lines_credits_the_invoice_total_not_its_positive_lines() -> None:
    w, april = changed_invoice()
    note = w.credit_notes.create(SCOPE, parse(CreditNoteCreate, {"invoice": april.id}))
    assert note.total == 6932 and sorted(line.amount for line in note.lines) == [-1287, 3319, 4900]
    assert w.invoices.get(SCOPE, april.id).amount_credited == 6932
    with pytest.raises(BillingError) as raised:
        w.credit_notes.create(SCOPE, parse(CreditNoteCreate, {"invoice": april.id}))
    assert raised.value.code == "nothing_to_credit"
    for entry in w.invoices.journal(SCOPE, april.customer):
        assert sum(p.debit for p in entry.postings) == sum(p.credit for p in entry.postings)
    balances = ledger.balances(w.invoices.journal(SCOPE, april.customer))
    assert balances == {"receivable": 1900, "revenue": -1900}  # April undone: March's fee is left


def test_credit_notes_naming_lines_stop_at_the_invoice_total() -> None:
    w, april = changed_invoice()
    fee, _, rest = april.lines[:3]
    with pytest.raises(BillingError) as raised:
        w.credit_notes.create(
            SCOPE, parse(CreditNoteCreate, {"invoice": april.id, "lines": [{"line": fee.id}, {"line": rest.id}]})
        )
    assert (raised.value.code, raised.value.param) == ("credit_exceeds_invoice", "lines")
    assert w.invoices.get(SCOPE, april.id).amount_credited == 0  # nothing written
    w.credit_notes.create(SCOPE, parse(CreditNoteCreate, {"invoice": april.id, "lines": [{"line": fee.id}]}))
    with pytest.raises(BillingError) as raised:
        w.credit_notes.create(
            SCOPE, parse(CreditNoteCreate, {"invoice": april.id, "lines": [{"line": rest.id, "amount": 2033}]})
        )
    assert raised.value.code == "credit_exceeds_invoice"
    note = w.credit_notes.create(
        SCOPE, parse(CreditNoteCreate, {"invoice": april.id, "lines": [{"line": rest.id, "amount": 2032}]})
    )
    assert note.total == 2032 and w.invoices.get(SCOPE, april.id).amount_credited == 6932


def test_an_invoice_of_plus_one_and_minus_one_has_nothing_to_credit() -> None:
    w = Billing(MARCH)
    cus = w.customer()
    charges = [
        Line(id="", type="adjustment", description="Plus", amount=1),
        Line(id="", type="adjustment", description="Minus", amount=-1),
    ]
    at = "2026-03-01T00:00:00Z"
    draft = Invoice(id="inv_01kn00000000000000000000aa", livemode=False, customer=cus, currency="USD",
                    billing_reason="subscription_update", period_start=at, period_end=at, created_at=at)  # fmt: skip
    w.invoices_repo.rows[(SCOPE, draft.id)] = apply_lines(draft, charges)
    invoice = w.invoices.finalize(SCOPE, draft.id)
    assert invoice.total == 0
    with pytest.raises(BillingError) as raised:
        w.credit_notes.create(SCOPE, parse(CreditNoteCreate, {"invoice": invoice.id}))
    assert raised.value.code == "nothing_to_credit"
    with pytest.raises(BillingError) as raised:
        w.credit_notes.create(
            SCOPE, parse(CreditNoteCreate, {"invoice": invoice.id, "lines": [{"line": invoice.lines[0].id}]})
        )
    assert raised.value.code == "credit_exceeds_invoice"
