"""The daily dunning run's plan: which steps are due for an invoice on a date, once each."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from billing.collections.policy import DunningPolicy, DunningPolicyUpdate
from billing.collections.steps import due_steps
from billing.invoicing.model import Invoice, Status
from billing.validation import parse

POLICY = DunningPolicy.of(
    parse(
        DunningPolicyUpdate,
        {
            "steps": [
                {"days_after_due": -3, "action": "reminder"},
                {"days_after_due": 1, "action": "reminder"},
                {"days_after_due": 10, "action": "late_fee", "percent": "2.5"},
                {"days_after_due": 30, "action": "suspend"},
                {"days_after_due": 90, "action": "mark_uncollectible"},
            ]
        },
    )
)
DUE = date(2026, 3, 15)


def invoice(status: Status = "open", amount_due: int = 100_001) -> Invoice:
    return Invoice(
        id="inv_01kn00000000000000000000aa", livemode=False, customer="cus_x", billing_reason="manual",
        currency="USD", period_start="2026-03-01T00:00:00Z", period_end="2026-03-01T00:00:00Z",
        created_at="2026-03-01T00:00:00Z", status=status, due_date="2026-03-15T00:00:00Z",
        total=amount_due, amount_due=amount_due,
    )  # fmt: skip


def day(n: int) -> date:
    return DUE + timedelta(days=n)


def test_steps_fall_due_day_by_day_and_a_late_fee_is_a_share_of_the_principal() -> None:
    assert due_steps(POLICY, invoice(), day(-4), set()) == []
    assert [s.action for s in due_steps(POLICY, invoice(), day(-3), set())] == ["reminder"]
    [fee] = due_steps(POLICY, invoice(), day(10), {"inv_01kn00000000000000000000aa#-3#reminder",
                                                   "inv_01kn00000000000000000000aa#1#reminder"})  # fmt: skip
    assert (fee.action, fee.on, fee.amount) == ("late_fee", day(10), 2500)  # 2.5% of 100,001: 2,500.025


def test_a_missed_day_is_caught_up_and_a_missed_reminder_before_due_is_dropped() -> None:
    steps = due_steps(POLICY, invoice(), day(31), set())
    assert [(s.days_after_due, s.action) for s in steps] == [(1, "reminder"), (10, "late_fee"), (30, "suspend")]


def test_paid_and_written_off_invoices_are_not_chased() -> None:
    statuses: list[Status] = ["paid", "void", "uncollectible", "draft"]
    for status in statuses:
        assert due_steps(POLICY, invoice(status), day(100), set()) == []


@given(st.integers(-10, 120), st.integers(0, 3))
def test_a_run_repeated_on_the_same_day_or_later_takes_no_step_twice(first: int, later: int) -> None:
    """Idempotent per invoice, step and day: what a run did is done for every later run."""
    done: set[str] = set()
    taken = []
    for run in (first, first, first + later):
        steps = due_steps(POLICY, invoice(), day(run), done)
        taken += [s.key for s in steps]
        done |= {s.key for s in steps}
    assert len(taken) == len(set(taken))
    assert set(taken) == {s.key for s in due_steps(POLICY, invoice(), day(first + later), set())} | (
        {s.key for s in due_steps(POLICY, invoice(), day(first), set())}
    )
