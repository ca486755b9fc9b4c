"""Prorations return what was actually charged: discounts kept, voids and credit notes
respected, rounded once; a change preview is what the change then bills."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.customers import CustomerUpdate
from billing.errors import BillingError
from billing.invoicing import previews
from billing.invoicing.credit_notes import CreditNoteCreate
from billing.invoicing.lines import Line
from billing.subscriptions.model import AddOnItem, Cancel, ChangePlan
from billing.validation import parse
from tests.unit.invoicing_world import SCOPE, Billing

MARCH = datetime(2026, 3, 1, tzinfo=UTC)
MID_MARCH = datetime(2026, 3, 16, 12, tzinfo=UTC)  # half of March's 31 days left


def world(now: datetime = MARCH) -> Billing:
    w = Billing(now)
    w.create("plan", code="pro", name="Pro", currency="USD", interval="month", base_fee=4900)
    w.create("plan", code="starter", name="Starter", currency="USD", interval="month", base_fee=1900)
    w.create("plan", code="team", name="Team", currency="USD", interval="month", base_fee=9900)
    w.create("plan", code="odd", name="Odd", currency="USD", interval="month", base_fee=1190)
    w.create("plan", code="yearly", name="Yearly", currency="USD", interval="year", base_fee=49000)
    w.create("add_on", code="seats", name="Seats", amount=700, currency="USD", interval="month")
    return w


def credit_amounts(invoice: object) -> list[int]:
    return [line.amount for line in invoice.lines if line.type == "proration" and line.amount < 0]  # type: ignore[attr-defined]


def cancel_mid_march(w: Billing, sub: str) -> object:
    w.at(MID_MARCH)
    w.subscriptions.cancel(SCOPE, sub, parse(Cancel, {"when": "now"}))
    [final] = w.bill(sub)
    return final


def test_a_credit_returns_what_a_once_coupon_left_to_pay() -> None:
    w = world()
    w.create("coupon", code="HALF", percent_off="50", duration="once")
    sub = w.subscribe(w.customer(), "pro", coupon="HALF")
    [march] = w.bill(sub)
    assert march.total == 2450
    assert credit_amounts(cancel_mid_march(w, sub)) == [-1225]  # half of what March cost, not of its list price


def test_a_benefit_added_later_does_not_shrink_the_credit_of_a_period_billed_without_it() -> None:
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "pro")
    w.bill(sub)
    w.customers.update(
        SCOPE, cus, CustomerUpdate.model_validate({"discounts": [{"name": "Veteran", "percent_off": "50"}]})
    )
    final = cancel_mid_march(w, sub)
    assert credit_amounts(final) == [-2450] and final.discount_total == 0 and final.total == -2450


def test_a_voided_fee_is_not_credited() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "pro")
    [march] = w.bill(sub)
    w.invoices.void(SCOPE, march.id)
    w.at(MID_MARCH)
    w.subscriptions.cancel(SCOPE, sub, parse(Cancel, {"when": "now"}))
    assert w.bill(sub) == []  # nothing billed for the rest of March: nothing to credit


def test_a_fee_credited_by_a_credit_note_is_not_credited_again() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "pro")
    [march] = w.bill(sub)
    w.credit_notes.create(SCOPE, parse(CreditNoteCreate, {"invoice": march.id}))
    w.at(MID_MARCH)
    w.subscriptions.cancel(SCOPE, sub, parse(Cancel, {"when": "now"}))
    assert w.bill(sub) == []


def test_a_partly_credited_fee_credits_the_share_of_what_is_left() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "pro")
    [march] = w.bill(sub)
    w.credit_notes.create(
        SCOPE, parse(CreditNoteCreate, {"invoice": march.id, "lines": [{"line": march.lines[0].id, "amount": 900}]})
    )
    assert credit_amounts(cancel_mid_march(w, sub)) == [-2000]  # half of the 4,000 left


def test_a_proration_is_rounded_once() -> None:
    w = world(datetime(2026, 2, 1, tzinfo=UTC))
    sub = w.subscribe(w.customer(), "odd")
    w.bill(sub)
    w.at(datetime(2026, 2, 26, tzinfo=UTC))  # 3 of February's 28 days left: 1,190 x 3/28 = 127.5
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "starter"}))
    w.at(datetime(2026, 3, 1, tzinfo=UTC))
    [march] = w.bill(sub)
    assert credit_amounts(march) == [-128]  # half to even, not -127 from a share rounded first


def test_a_second_change_credits_what_the_first_one_charged() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "starter")
    w.bill(sub)
    w.at(datetime(2026, 3, 11, tzinfo=UTC))
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "pro"}))
    w.at(datetime(2026, 3, 21, tzinfo=UTC))
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "team"}))
    w.at(datetime(2026, 4, 1, tzinfo=UTC))
    [april] = w.bill(sub)
    prorations = [(line.description, line.amount) for line in april.lines if line.type == "proration"]
    assert prorations == [
        ("Unused time on Starter from 2026-03-11", -1287),  # 1,900 x 21/31
        ("Remaining time on Pro from 2026-03-11", 3319),  # 4,900 x 21/31
        ("Unused time on Pro from 2026-03-21", -1739),  # 3,319 x 11/21 (rounded once)
        ("Remaining time on Team from 2026-03-21", 3513),  # 9,900 x 11/31
    ]


def test_the_change_preview_in_a_stub_period_is_what_the_change_bills() -> None:
    w = world()
    sub = w.subscribe(w.customer(), "starter", billing_anchor="2026-03-25T00:00:00Z")  # stub: 24 of 28 days
    w.bill(sub)
    w.at(datetime(2026, 3, 13, tzinfo=UTC))
    preview = previews.plan_change(
        w.biller, w.subscriptions, SCOPE, w.subscription_repo.get(SCOPE, sub), parse(ChangePlan, {"plan": "pro"})
    )
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": "pro"}))
    w.at(datetime(2026, 3, 25, tzinfo=UTC))
    [renewal] = w.bill(sub)
    billed = [(line.description, line.amount) for line in renewal.lines if line.type == "proration"]
    assert [(line.description, line.amount) for line in preview.lines if line.is_charge] == billed
    assert [amount for _, amount in billed] == [-814, 2100]  # 12 days of a 28-day period


OPS = st.sampled_from(["pro", "starter", "team", "seats+", "seats-", "credit_note", "yearly"])


@settings(max_examples=40, deadline=None)
@given(
    anchor_day=st.integers(1, 28),
    steps=st.lists(st.tuples(OPS, st.integers(1, 20 * 24)), min_size=0, max_size=4),
    target=st.sampled_from(["pro", "starter", "team", "yearly"]),
    coupon=st.booleans(),
    stale=st.booleans(),
)
def test_a_change_preview_is_what_the_change_then_bills(
    anchor_day: int, steps: list[tuple[str, int]], target: str, coupon: bool, stale: bool
) -> None:
    """Over random histories (changes, add-ons, credit notes, stub periods, coupons, a period
    boundary the run has not reached yet), the preview's lines are the lines billing then
    writes for the change."""
    w = world()
    w.create("coupon", code="TENOFF", amount_off=1000, currency="USD", duration="forever")
    extra = {"coupon": "TENOFF"} if coupon else {}
    sub = w.subscribe(w.customer(), "starter", billing_anchor=f"2026-03-{anchor_day:02d}T00:00:00Z", **extra)
    w.bill(sub)
    end = datetime.fromisoformat(w.subscription_repo.get(SCOPE, sub).current_period_end)
    for op, hours in steps:
        moment = w.clock.now() + timedelta(hours=hours)
        if moment >= end - timedelta(hours=1):
            break
        w.at(moment)
        _apply(w, sub, op)
    current = w.subscription_repo.get(SCOPE, sub)
    w.at(w.clock.now() + timedelta(minutes=30))
    if stale and target != "yearly":  # just past the period's end; the run has not rolled it
        w.at(end + timedelta(minutes=30))
    if current.plan_code == target or current.status != "active":
        return
    try:
        preview = previews.plan_change(w.biller, w.subscriptions, SCOPE, current, parse(ChangePlan, {"plan": target}))
    except BillingError as refused:
        refusal = (refused.code, refused.param)
    else:
        refusal = None
    if refusal:  # the change itself refuses it the same way
        with pytest.raises(BillingError) as also:
            w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": target}))
        assert (also.value.code, also.value.param) == refusal
        return
    at = w.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": target}))
    w.at(w.clock.now() + timedelta(days=62))
    billed = [line for invoice in w.bill(sub) for line in invoice.lines if _of_change(line, at)]
    assert _charges(preview.lines) == _charges(billed)


def _apply(w: Billing, sub: str, op: str) -> None:
    current = w.subscription_repo.get(SCOPE, sub)
    if op == "credit_note":
        invoices = w.invoices_repo.of_subscription(SCOPE, sub)
        open_ = [i for i in invoices if i.status in ("open", "paid") and i.total > 0]
        if open_:
            invoice = open_[-1]
            line = next(line for line in invoice.lines if line.is_charge and line.net > 1)
            w.credit_notes.create(
                SCOPE, parse(CreditNoteCreate, {"invoice": invoice.id, "lines": [{"line": line.id, "amount": 1}]})
            )
    elif op == "seats+":
        w.subscriptions.add_add_on(SCOPE, sub, parse(AddOnItem, {"add_on": "seats", "quantity": 2}))
    elif op == "seats-":
        if any(item.add_on == "seats" for item in current.add_ons):
            w.subscriptions.remove_add_on(SCOPE, sub, "seats")
    elif op != current.plan_code and op != "yearly":
        w.subscriptions.change_plan(SCOPE, sub, parse(ChangePlan, {"plan": op}))


def _of_change(line: Line, at: str) -> bool:
    """The lines a change at ``at`` billed: its prorations and, on a new interval, the new fees."""
    return line.is_charge and line.type != "usage" and line.period_start == at


def _charges(lines: list[Line]) -> list[tuple[str, int, bool]]:
    return sorted((line.description, line.amount, line.discountable) for line in lines if line.is_charge)
