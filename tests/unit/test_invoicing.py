"""Billing cycles on worked examples: fees in advance, usage in arrears, trials, proration,
cancellation, coupons, taxes, numbering, re-runs, and the ledger."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing import ledger
from billing.decimals import to_minor
from billing.errors import BillingError, Conflict
from billing.invoicing import previews, rerating
from billing.invoicing.credit_notes import CreditNoteCreate
from billing.invoicing.model import InvoiceQuery
from billing.invoicing.runs import InvoiceRuns, RunRequest
from billing.pricing import MODELS, Usage
from billing.scope import Scope
from billing.subscriptions.model import AddOnItem, Cancel, ChangePlan, Subscription
from billing.validation import parse
from tests.unit.fakes import MemoryDueIndex, MemoryQueue, MemoryRunStore
from tests.unit.invoicing_world import SCOPE, Billing

MARCH = datetime(2026, 3, 1, tzinfo=UTC)
TIERS = [
    {"up_to": 1000, "unit_amount": "0"},
    {"up_to": 10000, "unit_amount": "0.2"},
    {"up_to": None, "unit_amount": "0.1"},
]


def world(**settings: object) -> Billing:
    w = Billing(MARCH, **settings)
    w.create("meter", code="calls", name="API calls", aggregation="sum", field="n")
    w.create("plan", code="pro", name="Pro", currency="USD", interval="month", base_fee=4900,
             charges=[{"meter": "calls", "model": "graduated", "tiers": TIERS}])  # fmt: skip
    w.create("plan", code="starter", name="Starter", currency="USD", interval="month", base_fee=1900)
    w.create("plan", code="yearly", name="Yearly", currency="USD", interval="year", base_fee=49000)
    w.create("tax_rate", name="Sales tax CA", percent="7.25", country="US", region="CA")
    return w


def test_fees_in_advance_then_usage_in_arrears_with_taxes_and_numbers() -> None:
    w = world()
    cus = w.customer(address={"country": "US", "region": "CA"})
    sub = w.subscribe(cus, "pro")
    [first] = w.bill(sub)
    assert w.amounts(first) == [("subscription_fee", 4900), ("tax", 355)]
    assert (first.number, first.status, first.total, first.amount_due) == ("INV-2026-000001", "open", 5255, 5255)
    assert (first.issued_at, first.due_date) == ("2026-03-01T00:00:00Z", "2026-03-15T00:00:00Z")
    for n, day in enumerate((3, 12, 28)):
        w.send(cus, "calls", datetime(2026, 3, day, tzinfo=UTC), f"c{n}", n=4000)
    w.at(datetime(2026, 4, 1, tzinfo=UTC))
    [second] = w.bill(sub)
    # April's fee in advance, March's 12,000 calls in arrears: 9,000 x 0.2 + 2,000 x 0.1 cents
    assert w.amounts(second) == [("subscription_fee", 4900), ("usage", 2000), ("tax", 500)]
    assert (second.period_start, second.period_end) == ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert second.number == "INV-2026-000002" and second.total == 7400
    assert w.bill(sub) == []  # nothing more is due: a re-run creates nothing


def test_a_trial_is_free_and_the_first_fee_follows_it() -> None:
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "pro", trial_days=14)
    w.send(cus, "calls", datetime(2026, 3, 5, tzinfo=UTC), "t1", n=50_000)
    assert w.bill(sub) == []
    w.advance(days=14)
    [invoice] = w.bill(sub)
    assert w.amounts(invoice) == [("subscription_fee", 4900)]  # no usage charge for the trial
    assert w.subscription_repo.get(SCOPE, sub).status == "active"


def test_a_plan_change_mid_period_is_prorated_by_the_second() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "starter")
    w.bill(sub)
    w.advance(days=10)  # 21 of March's 31 days left
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "pro"}))
    w.advance(days=21)
    [invoice] = w.bill(sub)
    credit, charge = to_minor(Decimal(-1900 * 21) / 31), to_minor(Decimal(4900 * 21) / 31)
    assert (credit, charge) == (-1287, 3319)
    assert w.amounts(invoice) == [("subscription_fee", 4900), ("proration", credit), ("proration", charge)]


def test_change_preview_is_what_the_change_will_bill() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "starter")
    w.bill(sub)
    w.advance(days=10)
    preview = previews.plan_change(
        w.biller, w.subscriptions, SCOPE, w.subscription_repo.get(SCOPE, sub), parse(ChangePlan, {"plan": "pro"})
    )
    assert [(line.type, line.amount) for line in preview.lines] == [("proration", -1287), ("proration", 3319)]


def test_the_upcoming_invoice_is_what_the_renewal_bills_when_no_more_usage_comes() -> None:
    w = world()
    cus = w.customer(address={"country": "US", "region": "CA"})
    sub = w.subscribe(cus, "starter")
    w.bill(sub)
    w.send(cus, "calls", datetime(2026, 3, 3, tzinfo=UTC), "u1", n=6000)
    w.advance(days=10)
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "pro"}))
    w.send(cus, "calls", datetime(2026, 3, 12, tzinfo=UTC), "u2", n=9000)
    w.at(datetime(2026, 3, 20, tzinfo=UTC))
    upcoming = previews.upcoming(w.biller, SCOPE, w.subscription_repo.get(SCOPE, sub))
    w.at(datetime(2026, 4, 1, tzinfo=UTC))
    [april] = w.bill(sub)
    assert w.amounts(upcoming) == w.amounts(april)
    assert ("usage", 2300) in w.amounts(april) and [t for t, _ in w.amounts(april)].count("proration") == 2
    assert (upcoming.total, upcoming.period_start) == (april.total, april.period_start)


def test_an_interval_change_closes_the_period_now() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "starter")
    w.bill(sub)
    w.advance(days=10)
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "yearly"}))
    [invoice] = w.bill(sub)
    assert w.amounts(invoice) == [("subscription_fee", 49000), ("proration", -1287)]
    assert (invoice.period_start, invoice.period_end) == ("2026-03-01T00:00:00Z", "2026-03-11T00:00:00Z")


def test_cancelling_now_credits_the_unused_fee_and_bills_the_usage_so_far() -> None:
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "pro")
    w.bill(sub)
    w.send(cus, "calls", datetime(2026, 3, 10, tzinfo=UTC), "u1", n=2000)
    w.at(datetime(2026, 3, 16, tzinfo=UTC))  # 16 of 31 days unused
    w.subscriptions.cancel(SCOPE, sub, parse(Cancel, {"when": "now"}))
    [final] = w.bill(sub)
    assert w.amounts(final) == [("usage", 200), ("proration", to_minor(Decimal(-4900 * 16) / 31))]
    assert final.total == 200 - 2529 and final.status == "paid" and final.amount_due == 0
    assert w.bill(sub) == [] and w.subscription_repo.get(SCOPE, sub).invoiced_through == "2026-03-16T00:00:00Z"


def test_cancelling_at_period_end_bills_the_last_usage_and_no_more_fees() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "starter")
    w.bill(sub)
    w.subscriptions.cancel(SCOPE, sub, parse(Cancel, {"when": "period_end"}))
    w.advance(days=40)
    assert w.bill(sub) == []  # nothing to charge: no usage, no next period
    assert w.subscription_repo.get(SCOPE, sub).status == "canceled"


def test_a_once_coupon_discounts_the_first_invoice_only() -> None:
    w = world()
    w.create("coupon", code="WELCOME20", percent_off="20", duration="once")
    sub = w.subscribe(w.customer(), "starter", coupon="WELCOME20")
    [first] = w.bill(sub)
    assert w.amounts(first) == [("subscription_fee", 1900), ("discount", -380)] and first.total == 1520
    w.advance(days=31)
    [second] = w.bill(sub)
    assert w.amounts(second) == [("subscription_fee", 1900)]


def test_drafts_wait_for_the_grace_period_and_late_usage_counts() -> None:
    w = world(grace_period=3600)
    cus = w.customer()
    sub = w.subscribe(cus, "pro")
    w.bill(sub)
    w.advance(days=31)
    [draft] = w.bill(sub)
    assert draft.status == "draft" and draft.number is None and draft.finalize_at == "2026-04-01T01:00:00Z"
    w.advance(minutes=30)
    w.send(cus, "calls", datetime(2026, 3, 31, 23, 59, tzinfo=UTC), "late", n=2000)  # within the grace period
    assert w.invoices.finalize_if_due(SCOPE, draft.id, w.clock.now()) is None  # not due yet
    w.advance(minutes=30)
    final = w.invoices.finalize_if_due(SCOPE, draft.id, w.clock.now())
    assert final and ("usage", 200) in w.amounts(final) and final.status == "open"


def test_finalized_invoices_never_change() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "starter")
    [invoice] = w.bill(sub)
    with pytest.raises(Conflict) as raised:
        w.invoices.finalize(SCOPE, invoice.id)
    assert raised.value.code == "invoice_not_draft"
    voided = w.invoices.void(SCOPE, invoice.id)
    assert voided.status == "void"
    with pytest.raises(Conflict):
        w.invoices.void(SCOPE, invoice.id)


def test_a_crash_before_the_write_changes_nothing_and_the_rerun_bills_once() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "starter")
    real = w.invoices_repo.apply_step

    def crash(*args: object, **kwargs: object) -> None:
        raise TimeoutError("lost")

    w.invoices_repo.apply_step = crash  # type: ignore[method-assign]
    with pytest.raises(TimeoutError):
        w.bill(sub)
    assert w.invoices_repo.rows == {}
    w.invoices_repo.apply_step = real  # type: ignore[method-assign]
    assert len(w.bill(sub)) == 1 and len(w.bill(sub)) == 0


def test_numbers_are_gap_free_under_concurrent_finalization() -> None:
    w = world(grace_period=60)
    subs = [w.subscribe(w.customer(), "starter") for _ in range(12)]
    drafts = [d for sub in subs for d in w.bill(sub, finalize=False)]
    errors: list[BaseException] = []

    def finalize(invoice_id: str) -> None:
        try:
            w.invoices.finalize(SCOPE, invoice_id)
        except BillingError as exc:  # pragma: no cover - would fail the test below
            errors.append(exc)

    threads = [threading.Thread(target=finalize, args=(d.id,)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    numbers = sorted(w.invoices.get(SCOPE, d.id).number for d in drafts)
    assert not errors and numbers == [f"INV-2026-{n:06d}" for n in range(1, 13)]


def test_every_finalized_invoice_posts_a_balanced_entry() -> None:
    w = world()
    cus = w.customer(address={"country": "US", "region": "CA"})
    sub = w.subscribe(cus, "pro")
    invoices = w.bill(sub)
    w.send(cus, "calls", datetime(2026, 3, 3, tzinfo=UTC), "x", n=7777)
    w.at(datetime(2026, 4, 1, tzinfo=UTC))
    invoices += w.bill(sub)
    entries = w.invoices.journal(SCOPE, cus)
    assert len(entries) == 2
    receivable = sum(p.debit - p.credit for e in entries for p in e.postings if p.account == "receivable")
    assert receivable == sum(i.total for i in invoices)
    tax = sum(p.credit for e in entries for p in e.postings if p.account.startswith("tax_payable"))
    assert tax == sum(i.tax_total for i in invoices)


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.integers(0, 5000), min_size=0, max_size=30),
    days=st.lists(st.integers(0, 30), min_size=30, max_size=30),
)
def test_rerating_the_stored_events_reproduces_the_usage_line(values: list[int], days: list[int]) -> None:
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "pro")
    w.bill(sub)
    for n, (value, day) in enumerate(zip(values, days, strict=False)):
        w.send(cus, "calls", datetime(2026, 3, 1 + day, 12, tzinfo=UTC), f"e{n}", n=value)
    w.at(datetime(2026, 4, 1, tzinfo=UTC))
    [invoice] = w.bill(sub)
    events = [e for (_, e) in w.events.items.items() if e.subscription == sub]
    rerated = rerating.quantities(events)
    plan = w.catalog.find(SCOPE, "plan", "pro")
    usage = [(line.quantity, line.amount) for line in invoice.lines if line.type == "usage"]
    total, count = rerated.get((sub, invoice.period_start, "calls"), (Decimal(0), 0))
    expected = to_minor(MODELS["graduated"].rate(plan.charges[0].params, Usage(total, count)).amount)
    assert usage == ([(str(total), expected)] if total else [])
    assert invoice.total == sum(line.amount for line in invoice.lines if not (line.type == "tax" and line.inclusive))


def test_credit_notes_reduce_the_amount_due_then_credit_the_customer() -> None:
    w = world()
    cus = w.customer(address={"country": "US", "region": "CA"})
    [invoice] = w.bill(w.subscribe(cus, "pro"))  # 4900 + 355 tax
    fee = invoice.lines[0]
    note = w.credit_notes.create(
        SCOPE,
        parse(
            CreditNoteCreate,
            {"invoice": invoice.id, "lines": [{"line": fee.id, "amount": 2450}], "reason": "billing_error"},
        ),
    )  # half the fee: 177.5 of tax, 178 (half to even)
    assert (note.number, note.subtotal, note.tax_total, note.total) == ("INV-CN-2026-000001", 2450, 178, 2628)
    assert w.invoices.get(SCOPE, invoice.id).amount_due == 5255 - 2628
    rest = w.credit_notes.create(
        SCOPE, parse(CreditNoteCreate, {"invoice": invoice.id})
    )  # what is left: the other half, 177 of tax
    assert (rest.total, rest.amount_applied, rest.amount_credited_to_customer) == (2450 + 177, 2627, 0)
    after = w.invoices.get(SCOPE, invoice.id)
    assert (after.status, after.amount_due, after.amount_credited) == ("paid", 0, 5255)
    with pytest.raises(BillingError) as raised:
        w.credit_notes.create(SCOPE, parse(CreditNoteCreate, {"invoice": invoice.id}))
    assert raised.value.code == "nothing_to_credit"
    balances = ledger.balances(w.invoices.journal(SCOPE, cus))
    assert balances["receivable"] == 0 and "customer_credit" not in balances
    assert balances["revenue"] == 0 and balances["tax_payable:" + invoice.lines[0].tax_amounts[0].tax_rate] == 0


def test_a_credit_note_cannot_exceed_a_line() -> None:
    w = world()
    [invoice] = w.bill(w.subscribe(w.customer(), "starter"))
    with pytest.raises(BillingError) as raised:
        w.credit_notes.create(
            SCOPE,
            parse(CreditNoteCreate, {"invoice": invoice.id, "lines": [{"line": invoice.lines[0].id, "amount": 1901}]}),
        )
    assert (raised.value.code, raised.value.param) == ("credit_exceeds_line", "lines[0].amount")


def test_a_household_benefit_takes_a_percent_off_one_suppliers_charges() -> None:
    w = world()
    w.create("supplier", code="water", name="City Water")
    w.create("meter", code="m3", name="Water", aggregation="sum", field="m3")
    w.create("plan", code="utility", name="Utility", currency="USD", interval="month", base_fee=1000,
             charges=[{"meter": "m3", "model": "per_unit", "unit_amount": "300", "supplier": "water"}])  # fmt: skip
    benefit = {"name": "Large family", "percent_off": "50", "supplier": "water"}
    cus = w.customer(discounts=[benefit])
    sub = w.subscribe(cus, "utility")
    w.bill(sub)
    w.send(cus, "m3", datetime(2026, 3, 20, tzinfo=UTC), "r1", m3=10)
    w.at(datetime(2026, 4, 1, tzinfo=UTC))
    [invoice] = w.bill(sub)
    assert w.amounts(invoice) == [("subscription_fee", 1000), ("usage", 3000), ("discount", -1500)]
    [water] = [e for e in w.invoices.journal(SCOPE, cus) if e.reference == invoice.id]
    assert {p.account: p.credit for p in water.postings if p.credit} == {"revenue": 1000, "revenue:water": 1500}


def test_a_run_that_crashes_half_way_and_runs_again_bills_each_period_once() -> None:
    w = world()
    subs = [w.subscribe(w.customer(), "starter") for _ in range(30)]
    queue = MemoryQueue()
    runs = InvoiceRuns(MemoryRunStore(), MemoryDueIndex(w.subscription_repo, w.invoices_repo), queue,
                       w.biller, w.invoices, w.clock)  # fmt: skip
    real_bill, calls = w.biller.bill, {"n": 0}

    def crashing(scope: Scope, subscription_id: str, as_of: datetime, read: Subscription | None = None) -> list:
        calls["n"] += 1
        if calls["n"] == 7:
            raise TimeoutError("the worker died")
        return real_bill(scope, subscription_id, as_of, read)

    w.biller.bill = crashing  # type: ignore[method-assign]
    first = runs.start(SCOPE, RunRequest.model_validate({}))
    while queue:  # a failed message stays in the queue and comes back (at least once)
        message = queue.pop(0)
        try:
            runs.handle(message)
        except TimeoutError:
            queue.append(message)
    assert runs.get(SCOPE, first.id).status == "completed"
    runs.start(SCOPE, RunRequest.model_validate({}))  # and again: nothing is billed twice
    while queue:
        runs.handle(queue.pop(0))
    for sub in subs:
        assert len(w.invoices.list(SCOPE, InvoiceQuery.from_params({"subscription": sub})).data) == 1


def test_a_run_reads_each_subscription_once_however_many_steps_it_bills() -> None:
    """The run hands the biller the subscription it read; each step goes on from the one the
    step before wrote."""
    w = world()
    subs = [w.subscribe(w.customer(), "starter") for _ in range(3)]
    w.at(datetime(2026, 5, 2, tzinfo=UTC))  # three periods due each: March, April, May
    queue = MemoryQueue()
    runs = InvoiceRuns(MemoryRunStore(), MemoryDueIndex(w.subscription_repo, w.invoices_repo), queue,
                       w.biller, w.invoices, w.clock)  # fmt: skip
    real_get, reads = w.subscription_repo.get, []

    def counted(scope: Scope, subscription_id: str) -> Subscription | None:
        reads.append(subscription_id)
        return real_get(scope, subscription_id)

    w.subscription_repo.get = counted  # type: ignore[method-assign]
    run = runs.start(SCOPE, RunRequest.model_validate({}))
    while queue:
        runs.handle(queue.pop(0))
    assert runs.get(SCOPE, run.id).counts["invoices_created"] == 9
    assert sorted(reads) == sorted(subs)


def test_a_step_that_charges_nothing_drafts_nothing_unless_a_preview_asks() -> None:
    """A free trial's first step writes no invoice: billing does not read the customer (its
    discounts and taxes); a preview still drafts what the next step bills."""
    w = world()
    cus = w.customer(address={"country": "US", "region": "CA"})
    sub = w.subscribe(cus, "starter", trial_days=14)
    real_get, reads = w.customer_repo.get, []

    def counted(scope: Scope, customer_id: str) -> object:
        reads.append(customer_id)
        return real_get(scope, customer_id)

    w.customer_repo.get = counted  # type: ignore[method-assign]
    assert w.bill(sub) == []
    assert reads == []
    upcoming = previews.upcoming(w.biller, SCOPE, w.subscription_repo.get(SCOPE, sub))
    assert upcoming.customer == cus and reads == [cus]


def test_a_subscription_that_cannot_be_rated_fails_alone_with_its_reason() -> None:
    w = world()
    w.create("meter", code="bytes", name="Bytes", aggregation="sum", field="n")
    w.create("plan", code="huge", name="Huge", currency="USD", interval="month",
             charges=[{"meter": "bytes", "model": "per_unit", "unit_amount": "1000000000000"}])  # fmt: skip
    good = [w.subscribe(w.customer(), "starter") for _ in range(3)]
    cus = w.customer()
    bad = w.subscribe(cus, "huge")
    w.send(cus, "bytes", datetime(2026, 3, 5, tzinfo=UTC), "b1", n=10**14)  # 10^26 minor units: beyond any bill
    w.at(datetime(2026, 4, 1, tzinfo=UTC))
    queue = MemoryQueue()
    runs = InvoiceRuns(MemoryRunStore(), MemoryDueIndex(w.subscription_repo, w.invoices_repo), queue,
                       w.biller, w.invoices, w.clock)  # fmt: skip
    run = runs.start(SCOPE, RunRequest.model_validate({}))
    while queue:
        runs.handle(queue.pop(0))  # no message fails: the others in the batch are billed
    done = runs.get(SCOPE, run.id)
    assert done.status == "completed" and done.counts["failed"] == 1
    assert [(f.id, f.code) for f in done.failures] == [(bad, "amount_out_of_range")]
    assert all(len(w.invoices.list(SCOPE, InvoiceQuery.from_params({"subscription": sub})).data) == 2 for sub in good)


def test_a_race_in_a_run_retries_the_message_instead_of_failing_the_subscription() -> None:
    w = world()
    subs = [w.subscribe(w.customer(), "starter") for _ in range(3)]
    queue = MemoryQueue()
    runs = InvoiceRuns(MemoryRunStore(), MemoryDueIndex(w.subscription_repo, w.invoices_repo), queue,
                       w.biller, w.invoices, w.clock)  # fmt: skip
    real_bill, raced = w.biller.bill, []

    def racing(scope: Scope, subscription_id: str, as_of: datetime, read: Subscription | None = None) -> list:
        if not raced:
            raced.append(subscription_id)
            raise Conflict("the customer's credit changed meanwhile", code="concurrent_update", retryable=True)
        return real_bill(scope, subscription_id, as_of, read)

    w.biller.bill = racing  # type: ignore[method-assign]
    run = runs.start(SCOPE, RunRequest.model_validate({}))
    while queue:
        message = queue.pop(0)
        try:
            runs.handle(message)
        except Conflict:
            queue.append(message)  # SQS delivers it again
    done = runs.get(SCOPE, run.id)
    assert done.status == "completed" and done.counts["failed"] == 0 and done.failures == []
    assert all(len(w.invoices.list(SCOPE, InvoiceQuery.from_params({"subscription": sub})).data) == 1 for sub in subs)


# ---------------------------------------------------------------- review cases: runs late, stubs, edges
def test_a_change_after_the_boundary_but_before_the_run_is_not_billed_twice() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "starter")
    w.bill(sub)
    w.at(datetime(2026, 4, 1, 0, 30, tzinfo=UTC))
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "pro"}))  # the run has not rolled March over yet
    w.advance(minutes=30)
    [april] = w.bill(sub)
    assert w.amounts(april) == [("subscription_fee", 1900)]  # April on the plan in force at its start
    w.at(datetime(2026, 5, 1, 0, 0, tzinfo=UTC))
    [may] = w.bill(sub)
    credit, charge = [line.amount for line in may.lines if line.type == "proration"]
    assert (credit, charge) == (-to_minor(Decimal(1900 * (30 * 86400 - 1800)) / (30 * 86400)), 4897)
    assert sum(line.amount for line in april.lines + may.lines) == 1900 + 4900 + credit + charge


def test_a_stub_period_is_prorated_on_what_it_was_billed() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "pro", billing_anchor="2026-03-25T00:00:00Z")  # stub: 24 of 28 days
    [first] = w.bill(sub)
    assert w.amounts(first) == [("subscription_fee", 4200)]
    w.at(datetime(2026, 3, 13, tzinfo=UTC))
    w.subscriptions.cancel(SCOPE, sub, parse(Cancel, {"when": "now"}))
    [final] = w.bill(sub)
    assert w.amounts(final) == [("proration", -2100)]  # 12 unused days of the 24 billed


def test_a_one_off_add_on_is_billed_on_the_next_invoice_even_a_final_one() -> None:
    w = world()
    w.create("add_on", code="setup", name="Setup", amount=10000, currency="USD")
    sub = w.subscribe(w.customer(), "starter")
    w.bill(sub)
    w.at(datetime(2026, 3, 10, tzinfo=UTC))
    w.subscriptions.add_add_on(SCOPE, sub, parse(AddOnItem, {"add_on": "setup"}))
    w.at(datetime(2026, 3, 16, tzinfo=UTC))
    w.subscriptions.cancel(SCOPE, sub, parse(Cancel, {"when": "now"}))
    [final] = w.bill(sub)
    assert ("add_on", 10000) in w.amounts(final)


def test_recurring_add_ons_must_recur_as_the_plan_does() -> None:
    w = world()
    w.create("add_on", code="yearly-support", name="Support", amount=120000, currency="USD", interval="year")
    with pytest.raises(BillingError) as raised:
        w.subscribe(w.customer(), "starter", add_ons=[{"add_on": "yearly-support"}])
    assert raised.value.code == "add_on_interval_mismatch"


def test_fees_follow_the_status_at_the_start_of_the_period() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "starter")
    w.bill(sub)
    w.at(datetime(2026, 4, 1, 0, 30, tzinfo=UTC))
    w.subscriptions.pause(SCOPE, sub)  # after April started: April is due
    w.advance(minutes=30)
    [april] = w.bill(sub)
    assert w.amounts(april) == [("subscription_fee", 1900)]
    w.at(datetime(2026, 5, 1, 1, 0, tzinfo=UTC))
    assert w.bill(sub) == []  # May starts while paused: no fee


def test_a_coupon_for_some_plans_stops_when_the_subscription_leaves_them() -> None:
    w = world()
    w.create("coupon", code="PRO50", percent_off="50", duration="forever", applies_to_plans=["pro"])
    sub = w.subscribe(w.customer(), "pro", coupon="PRO50", trial_days=0)
    [first] = w.bill(sub)
    assert ("discount", -2450) in w.amounts(first)
    w.at(datetime(2026, 3, 20, tzinfo=UTC))
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "starter", "when": "period_end"}))
    w.at(datetime(2026, 4, 1, tzinfo=UTC))
    [april] = w.bill(sub)
    assert [kind for kind, _ in w.amounts(april)] == ["subscription_fee"]


def test_an_interval_change_the_run_had_not_rolled_bills_every_span() -> None:
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "pro")
    w.bill(sub)
    w.send(cus, "calls", datetime(2026, 4, 1, 0, 10, tzinfo=UTC), "late-1", n=5000)  # stamped in April
    w.at(datetime(2026, 4, 1, 0, 30, tzinfo=UTC))
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "yearly"}))
    invoices = w.bill(sub)
    usage = [amount for invoice in invoices for kind, amount in w.amounts(invoice) if kind == "usage"]
    assert usage == [800]  # 4,000 billable calls of April's first half hour at 0.2 cents


def test_void_refuses_an_invoice_credit_notes_already_corrected() -> None:
    w = world()
    [invoice] = w.bill(w.subscribe(w.customer(), "starter"))
    w.credit_notes.create(
        SCOPE, parse(CreditNoteCreate, {"invoice": invoice.id, "lines": [{"line": invoice.lines[0].id, "amount": 500}]})
    )
    with pytest.raises(Conflict) as raised:
        w.invoices.void(SCOPE, invoice.id)
    assert raised.value.code == "invoice_has_credit_notes"


def test_an_amount_off_credit_returns_what_was_paid_and_is_not_discounted_again() -> None:
    w = world()
    w.create("coupon", code="OFF15", amount_off=1500, currency="USD", duration="forever")
    sub = w.subscribe(w.customer(), "pro", coupon="OFF15", trial_days=0)
    [march] = w.bill(sub)
    assert march.total == 3400
    w.at(datetime(2026, 3, 2, tzinfo=UTC))
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "starter"}))
    w.at(datetime(2026, 4, 1, tzinfo=UTC))
    [april] = w.bill(sub)
    [credit] = [line for line in april.lines if line.type == "proration" and line.amount < 0]
    assert (credit.amount, credit.discountable, credit.discount_amount) == (-3290, False, 0)  # 3,400 x 30/31
    discountable = sum(line.amount for line in april.lines if line.is_charge and line.discountable)
    assert april.discount_total == 1500 <= discountable  # April's own coupon, on what April charges anew


def test_a_fully_invoiced_canceled_subscription_has_no_upcoming_invoice() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "starter")
    w.bill(sub)
    w.at(datetime(2026, 3, 16, tzinfo=UTC))
    w.subscriptions.cancel(SCOPE, sub, parse(Cancel, {"when": "now"}))
    w.bill(sub)
    with pytest.raises(BillingError) as raised:
        previews.upcoming(w.biller, SCOPE, w.subscription_repo.get(SCOPE, sub))
    assert raised.value.code == "no_upcoming_invoice"
