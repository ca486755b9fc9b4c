"""Customer credit: a negative total becomes credit, and credit pays the next finalized
invoices, visibly on them and in the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing import ledger
from billing.errors import BillingError
from billing.invoicing.credit_notes import CreditNoteCreate
from billing.subscriptions.model import Cancel, ChangePlan
from billing.validation import parse
from tests.unit.invoicing_world import SCOPE, Billing

JAN = datetime(2026, 1, 1, tzinfo=UTC)


def world() -> Billing:
    w = Billing(JAN)
    w.create("plan", code="yearly", name="Yearly", currency="USD", interval="year", base_fee=120000)
    w.create("plan", code="monthly", name="Monthly", currency="USD", interval="month", base_fee=12000)
    w.create("plan", code="small", name="Small", currency="USD", interval="month", base_fee=1900)
    return w


def with_credit() -> tuple[Billing, str]:
    """A customer whose subscription was cancelled on January 16th: 1,900 x 16/31 = 981 back,
    as customer credit (the final invoice's total is -981)."""
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "small")
    w.bill(sub)
    w.at(JAN + timedelta(days=15))
    w.subscriptions.cancel(SCOPE, sub, parse(Cancel, {"when": "now"}))
    [final] = w.bill(sub)
    assert final.total == -981 and final.ending_balance == -981
    return w, cus


def test_a_downgrade_credit_pays_the_next_renewals() -> None:
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "yearly")
    [year] = w.bill(sub)
    assert (year.total, year.amount_due, year.starting_balance, year.applied_balance) == (120000, 120000, 0, 0)
    w.at(JAN + timedelta(days=1))
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "monthly"}))
    [change] = w.bill(sub)  # 364/365 of the year back, February's month charged
    assert [line.amount for line in change.lines] == [12000, -119671]
    assert (change.total, change.amount_due, change.status) == (-107671, 0, "paid")
    assert (change.starting_balance, change.applied_balance, change.ending_balance) == (0, 0, -107671)
    w.at(datetime(2026, 2, 2, tzinfo=UTC))
    [february] = w.bill(sub)
    assert (february.total, february.applied_balance, february.amount_due) == (12000, 12000, 0)
    assert (february.starting_balance, february.ending_balance, february.status) == (-107671, -95671, "paid")
    balances = w.invoices_repo.balances(SCOPE, cus)
    assert ledger.credit_available(balances) == 95671 and balances["receivable"] == year.amount_due  # still open


def test_credit_left_by_a_credit_note_is_used_by_the_next_invoice() -> None:
    w, cus = with_credit()
    assert ledger.credit_available(w.invoices_repo.balances(SCOPE, cus)) == 981
    other = w.subscribe(cus, "monthly")
    [first] = w.bill(other)
    assert (first.applied_balance, first.amount_due) == (981, 11019)
    note = w.credit_notes.create(
        SCOPE, parse(CreditNoteCreate, {"invoice": first.id})
    )  # all of it: 11,019 off the debt, 981 back
    assert (note.amount_applied, note.amount_credited_to_customer) == (11019, 981)
    w.at(datetime(2026, 2, 16, tzinfo=UTC))
    [second] = w.bill(other)
    assert (second.applied_balance, second.amount_due) == (981, 11019)


def test_voiding_an_invoice_gives_back_the_credit_it_used() -> None:
    w, cus = with_credit()
    [first] = w.bill(w.subscribe(cus, "monthly"))
    assert first.applied_balance == 981
    w.invoices.void(SCOPE, first.id)
    balances = w.invoices_repo.balances(SCOPE, cus)
    assert ledger.credit_available(balances) == 981 and balances["receivable"] == 1900  # January's, still open


def test_two_invoices_cannot_use_the_same_credit() -> None:
    w, cus = with_credit()
    drafts = [w.biller.bill(SCOPE, w.subscribe(cus, "monthly"), w.clock.now())[0] for _ in range(2)]
    stale = w.invoices_repo.balances
    w.invoices_repo.balances = lambda scope, customer: {"customer_credit": -981}  # type: ignore[method-assign]
    w.invoices.finalize(SCOPE, drafts[0].id)
    with pytest.raises(BillingError) as raised:  # read 981 of credit that the first one took
        w.invoices.finalize(SCOPE, drafts[1].id)
    assert raised.value.code == "concurrent_update"
    w.invoices_repo.balances = stale  # type: ignore[method-assign]
    second = w.invoices.finalize(SCOPE, drafts[1].id)
    assert (second.applied_balance, second.amount_due) == (0, 12000)


REFUSALS = {
    "plan_unchanged", "invoice_not_open", "invoice_has_credit_notes", "invoice_prorated", "credit_exceeds_invoice",
    "credit_exceeds_line", "nothing_to_credit",
}  # fmt: skip
ACTIONS = st.sampled_from(["yearly", "monthly", "small", "advance", "credit_note", "void", "cancel", "subscribe"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(ACTIONS, st.integers(1, 40), st.integers(0, 10**6)), min_size=1, max_size=12))
def test_the_receivable_is_what_open_invoices_ask_less_nothing_and_credit_is_never_negative(
    actions: list[tuple[str, int, int]],
) -> None:
    """For any sequence of plan changes, cancellations, credit notes and voids: receivable =
    the amounts due of open invoices; customer credit = what is left unused (never negative);
    what was billed, less what was credited, is never negative."""
    w = world()
    cus = w.customer()
    subs = [w.subscribe(cus, "monthly")]
    for action, days, pick in actions:
        sub = subs[-1]
        current = w.subscription_repo.get(SCOPE, sub)
        invoices = [i for i in w.invoices_repo.of_subscription(SCOPE, sub) if i.status in ("open", "paid")]
        try:
            if action == "advance":
                w.advance(days=days)
            elif action == "subscribe":
                subs.append(w.subscribe(cus, "small"))
            elif action == "cancel" and current.status != "canceled":
                w.subscriptions.cancel(SCOPE, sub, parse(Cancel, {"when": "now"}))
            elif action == "credit_note" and invoices:
                invoice = invoices[pick % len(invoices)]
                left = invoice.total - invoice.amount_credited
                lines = [line for line in invoice.lines if line.is_charge and line.net > 0]
                if left > 0 and lines:
                    line = lines[pick % len(lines)]
                    amount = 1 + pick % min(left, line.net)
                    w.credit_notes.create(
                        SCOPE,
                        parse(
                            CreditNoteCreate, {"invoice": invoice.id, "lines": [{"line": line.id, "amount": amount}]}
                        ),
                    )
            elif action == "void" and invoices:
                w.invoices.void(SCOPE, invoices[pick % len(invoices)].id)
            elif action in ("yearly", "monthly", "small") and current.status != "canceled":
                w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": action}))
        except BillingError as refused:  # what the rules refuse is refused, and nothing else
            if refused.code not in REFUSALS:
                raise
        for each in subs:
            w.bill(each)
        everything = [i for each in subs for i in w.invoices_repo.of_subscription(SCOPE, each)]
        balances = w.invoices_repo.balances(SCOPE, cus)
        assert balances.get("receivable", 0) == sum(i.amount_due for i in everything if i.status == "open")
        assert balances.get(ledger.CUSTOMER_CREDIT, 0) <= 0
        billed = sum(i.total - i.amount_credited for i in everything if i.status in ("open", "paid"))
        assert billed >= 0  # credits never give back more than was charged, whatever the order
        assert all(i.amount_due >= 0 and (i.status != "paid" or i.amount_due == 0) for i in everything)


def test_an_invoice_whose_unused_time_was_credited_cannot_be_voided_nor_credited_again() -> None:
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "yearly")
    [year] = w.bill(sub)  # left open
    w.at(JAN + timedelta(days=1))
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "monthly"}))
    [change] = w.bill(sub)
    [credit] = [line for line in change.lines if line.amount < 0]
    assert credit.prorates == {year.lines[0].id: 119671}  # what it credited of the year's fee
    with pytest.raises(BillingError) as raised:
        w.invoices.void(SCOPE, year.id)
    assert raised.value.code == "invoice_prorated"
    with pytest.raises(BillingError) as raised:
        w.credit_notes.create(
            SCOPE, parse(CreditNoteCreate, {"invoice": year.id, "lines": [{"line": year.lines[0].id, "amount": 330}]})
        )
    assert raised.value.code == "credit_exceeds_line"
    note = w.credit_notes.create(SCOPE, parse(CreditNoteCreate, {"invoice": year.id}))  # what is left: the one day used
    assert note.total == 329
    balances = w.invoices_repo.balances(SCOPE, cus)  # 120,000 owed - 329 credited; 107,671 of credit
    assert (balances["receivable"], ledger.credit_available(balances)) == (119671, 107671)
