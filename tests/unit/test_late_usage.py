"""Every accepted event is billed: a closed period's draft is kept, even empty, until its
grace period ends; a coupon is not used up by an invoice it takes nothing off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.decimals import to_minor
from billing.invoicing import previews
from tests.unit.invoicing_world import SCOPE, Billing

NOW = datetime(2026, 3, 20, tzinfo=UTC)
GRACE = 10 * 24 * 3600


def world(grace: int = GRACE) -> Billing:
    w = Billing(NOW, grace_period=grace)
    w.create("meter", code="gb", name="Traffic", aggregation="sum", field="gb")
    w.create("plan", code="metered", name="Metered", currency="USD", interval="month", base_fee=0,
             charges=[{"meter": "gb", "model": "per_unit", "unit_amount": "150"}])  # fmt: skip
    return w


def run(w: Billing, sub: str) -> None:
    """What an invoice run does: bill the steps due, finalize the drafts whose grace is over."""
    w.bill(sub, finalize=False)
    for invoice in w.invoices_repo.of_subscription(SCOPE, sub):
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


@settings(max_examples=25, deadline=None)
@given(
    events=st.lists(st.tuples(st.integers(0, 70 * 24), st.integers(1, 9)), min_size=1, max_size=25),
    grace_days=st.integers(0, 12),
    runs=st.lists(st.integers(1, 20 * 24), min_size=1, max_size=8),
)
def test_every_accepted_event_is_billed_once(events: list[tuple[int, int]], grace_days: int, runs: list[int]) -> None:
    """Events sent in time order (each as late as the grace allows or on time), runs at random
    moments in between: the usage lines of all invoices, plus the upcoming one, add up to the
    rated total of the accepted events."""
    w = world(grace=grace_days * 24 * 3600)
    w.at(datetime(2026, 1, 1, tzinfo=UTC))
    cus = w.customer()
    sub = w.subscribe(cus, "metered")
    accepted, run_at = 0, iter(sorted(runs))
    next_run = w.clock.now() + timedelta(hours=next(run_at))
    for n, (hours, gb) in enumerate(sorted(events)):
        happened = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=hours)
        sent_at = happened + timedelta(days=grace_days, hours=-1) if n % 2 and grace_days else happened
        while next_run <= sent_at:
            w.at(next_run)
            run(w, sub)
            next_run += timedelta(hours=next(run_at, 20 * 24))
        w.at(max(w.clock.now(), sent_at))
        stamp = happened.strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"transaction_id": f"e{n}", "customer": cus, "code": "gb", "timestamp": stamp, "properties": {"gb": gb}}
        if not w.ingest.ingest(SCOPE, [body]).rejected:
            accepted += gb
        w.aggregate()
    w.at(w.clock.now() + timedelta(days=grace_days, seconds=1))
    run(w, sub)
    for invoice in w.invoices_repo.of_subscription(SCOPE, sub):  # drafts of periods that just closed
        if invoice.status == "draft":
            w.invoices.finalize(SCOPE, invoice.id)
    upcoming = previews.upcoming(w.biller, SCOPE, w.subscription_repo.get(SCOPE, sub))
    pending = sum(line.amount for line in upcoming.lines if line.type == "usage")
    assert usage_billed(w, sub) + pending == to_minor(Decimal(accepted * 150))
