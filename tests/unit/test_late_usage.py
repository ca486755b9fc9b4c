"""Every accepted event is billed: a closed period's draft is kept, even empty, until its
grace period ends; a coupon is not used up by an invoice it takes nothing off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.decimals import to_minor
from billing.invoicing import previews
from billing.subscriptions.model import Cancel, ChangePlan
from billing.usage import schema
from billing.validation import parse
from tests.unit.invoicing_world import SCOPE, Billing

NOW = datetime(2026, 3, 20, tzinfo=UTC)
GRACE = 10 * 24 * 3600


def world(grace: int = GRACE) -> Billing:
    w = Billing(NOW, grace_period=grace)
    w.create("meter", code="gb", name="Traffic", aggregation="sum", field="gb")
    for code, interval in (("metered", "month"), ("metered-yearly", "year")):
        w.create("plan", code=code, name=code.title(), currency="USD", interval=interval, base_fee=0,
                 charges=[{"meter": "gb", "model": "per_unit", "unit_amount": "150"}])  # fmt: skip
    return w


def run(w: Billing, sub: str, early: bool = False) -> None:
    """What an invoice run does: bill the steps due, finalize the drafts whose grace is over
    (``early``: every draft, as an operator may, without waiting)."""
    w.bill(sub, finalize=False)
    for invoice in w.invoices_repo.of_subscription(SCOPE, sub):
        if early and invoice.status == "draft":
            w.invoices.finalize(SCOPE, invoice.id)
        w.invoices.finalize_if_due(SCOPE, invoice.id, w.clock.now())


def usage_billed(w: Billing, sub: str) -> int:
    invoices = w.invoices_repo.of_subscription(SCOPE, sub)
    return sum(line.amount for invoice in invoices for line in invoice.lines if line.type == "usage")


def test_usage_sent_late_into_a_closed_period_is_billed() -> None:
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "metered", start_date="2026-02-15T00:00:00Z", billing_anchor="2026-03-01T00:00:00Z")
    [draft] = w.bill(sub, finalize=False)  # the closed stub [Feb 15, Mar 1): no usage yet, kept open
    assert (draft.status, draft.lines, draft.finalize_at) == ("draft", [], "2026-03-11T00:00:00Z")
    w.at(datetime(2026, 3, 5, tzinfo=UTC))
    w.send(cus, "gb", datetime(2026, 2, 20, tzinfo=UTC), "late-1", gb=3)  # accepted: within the grace
    w.at(datetime(2026, 3, 11, tzinfo=UTC))
    w.bill(sub)
    final = w.invoices.finalize_if_due(SCOPE, draft.id, w.clock.now())
    assert final is not None and final.status == "open"
    assert [(line.type, line.amount) for line in final.lines] == [("usage", 450)]


def late(w: Billing, cus: str, txid: str, happened: datetime, sent: datetime, gb: int) -> bool:
    """Send an event that happened at ``happened`` at ``sent``; whether it was accepted."""
    w.at(sent)
    stamp = happened.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"transaction_id": txid, "customer": cus, "code": "gb", "timestamp": stamp, "properties": {"gb": gb}}
    accepted = not w.ingest.ingest(SCOPE, schema.read_all([body])).rejected
    w.aggregate()
    return accepted


def test_late_usage_of_a_cancelled_subscription_counts_until_its_final_invoice_is_finalized() -> None:
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "metered")
    w.at(datetime(2026, 3, 26, tzinfo=UTC))
    w.subscriptions.cancel(SCOPE, sub, parse(Cancel, {"when": "now"}))
    assert late(w, cus, "in-grace", datetime(2026, 3, 25, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC), 2)
    run(w, sub)
    assert not late(w, cus, "too-late", datetime(2026, 3, 25, tzinfo=UTC), datetime(2026, 4, 6, tzinfo=UTC), 5)
    w.at(datetime(2026, 4, 20, tzinfo=UTC))  # past the natural end of March's period plus grace too
    run(w, sub)
    assert usage_billed(w, sub) == 300  # the 2 GB sent in time; the late 5 GB were refused, not lost


def test_late_usage_before_an_interval_change_is_billed_with_the_period_it_closed() -> None:
    w = world()
    cus = w.customer()
    w.at(datetime(2026, 1, 1, tzinfo=UTC))
    sub = w.subscribe(cus, "metered")
    w.at(datetime(2026, 3, 21, tzinfo=UTC))
    run(w, sub)  # January and February billed; March running
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "metered-yearly"}))
    assert late(w, cus, "before", datetime(2026, 3, 20, tzinfo=UTC), datetime(2026, 3, 22, tzinfo=UTC), 4)
    run(w, sub)
    assert late(w, cus, "later", datetime(2026, 3, 20, 12, tzinfo=UTC), datetime(2026, 3, 25, tzinfo=UTC), 1)
    w.at(datetime(2026, 4, 5, tzinfo=UTC))
    run(w, sub)
    [closing] = [i for i in w.invoices_repo.of_subscription(SCOPE, sub) if i.period_end == "2026-03-21T00:00:00Z"]
    assert closing.period_start == "2026-03-01T00:00:00Z" and closing.status == "open"
    assert usage_billed(w, sub) == 750


def test_a_draft_finalized_early_takes_no_more_usage() -> None:
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "metered", start_date="2026-02-15T00:00:00Z", billing_anchor="2026-03-01T00:00:00Z")
    [draft] = w.bill(sub, finalize=False)
    w.invoices.finalize(SCOPE, draft.id)  # the operator does not wait for the grace period
    assert not late(w, cus, "after", datetime(2026, 2, 20, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC), 3)


def test_a_draft_no_usage_reached_is_an_invoice_of_zero() -> None:
    w = world(grace=0)
    sub = w.subscribe(w.customer(), "metered", start_date="2026-02-15T00:00:00Z")
    [invoice] = w.bill(sub)
    assert (invoice.status, invoice.total, invoice.number) == ("paid", 0, "INV-2026-000001")


def test_a_once_coupon_waits_for_an_invoice_it_takes_something_off() -> None:
    w = world(grace=0)
    w.create("coupon", code="HALF", percent_off="50", duration="once")
    cus = w.customer()
    sub = w.subscribe(cus, "metered", coupon="HALF")
    w.at(datetime(2026, 4, 20, tzinfo=UTC))
    [empty] = w.bill(sub)  # March without usage: nothing to discount
    assert empty.total == 0 and empty.discounts == [] and w.subscription_repo.get(SCOPE, sub).coupon_uses == 0
    w.send(cus, "gb", datetime(2026, 4, 25, tzinfo=UTC), "a1", gb=10)
    w.at(datetime(2026, 5, 20, tzinfo=UTC))
    [april] = w.bill(sub)
    assert (april.subtotal, april.discount_total, april.total) == (1500, 750, 750)
    assert w.subscription_repo.get(SCOPE, sub).coupon_uses == 1


@settings(max_examples=40, deadline=None)
@given(
    events=st.lists(st.tuples(st.integers(0, 70 * 24), st.integers(1, 9)), min_size=1, max_size=25),
    grace_days=st.integers(0, 12),
    runs=st.lists(st.integers(1, 20 * 24), min_size=1, max_size=8),
    change=st.tuples(st.sampled_from([None, "cancel", "metered-yearly"]), st.integers(1, 70 * 24)),
    early=st.booleans(),
)
def test_every_accepted_event_is_billed_once(
    events: list[tuple[int, int]], grace_days: int, runs: list[int], change: tuple[str | None, int], early: bool
) -> None:
    """Events sent in time order (each on time or as late as the grace allows), runs at random
    moments in between, maybe a cancellation or an interval change, maybe drafts finalized
    without waiting: the usage lines of all invoices, plus the upcoming one, add up to the
    rated total of the accepted events."""
    w = world(grace=grace_days * 24 * 3600)
    w.at(datetime(2026, 1, 1, tzinfo=UTC))
    cus = w.customer()
    sub = w.subscribe(cus, "metered")
    accepted, run_at = 0, iter(sorted(runs))
    next_run = w.clock.now() + timedelta(hours=next(run_at))
    action, change_at = change[0], datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=change[1])
    for n, (hours, gb) in enumerate(sorted(events)):
        happened = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=hours)
        sent_at = happened + timedelta(days=grace_days, hours=-1) if n % 2 and grace_days else happened
        while next_run <= sent_at:
            w.at(next_run)
            run(w, sub, early)
            next_run += timedelta(hours=next(run_at, 20 * 24))
        if action and change_at <= sent_at:
            w.at(max(w.clock.now(), change_at))
            if action == "cancel":
                w.subscriptions.cancel(SCOPE, sub, parse(Cancel, {"when": "now"}))
            else:
                w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": action}))
            action = None
        accepted += gb if late(w, cus, f"e{n}", happened, max(w.clock.now(), sent_at), gb) else 0
    w.at(w.clock.now() + timedelta(days=grace_days, seconds=1))
    run(w, sub)
    for invoice in w.invoices_repo.of_subscription(SCOPE, sub):  # drafts of periods that just closed
        if invoice.status == "draft":
            w.invoices.finalize(SCOPE, invoice.id)
    current, pending = w.subscription_repo.get(SCOPE, sub), 0
    if current.status != "canceled":
        upcoming = previews.upcoming(w.biller, SCOPE, current)
        pending = sum(line.amount for line in upcoming.lines if line.type == "usage")
    assert usage_billed(w, sub) + pending == to_minor(Decimal(accepted * 150))
