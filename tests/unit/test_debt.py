"""A customer's debt as of its clock: principal per overdue invoice, late fees, penalty interest
accrued on the principal only, each amount counted once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from billing.collections.debt import debt_of
from billing.collections.interest import PenaltyInterest, Tier, accrued
from billing.collections.invoice_items import InvoiceItemCreate, Kind
from billing.collections.policy import DunningPolicy
from billing.collections.service import Debts
from billing.decimals import to_minor
from billing.invoicing.lines import Line
from billing.invoicing.model import Invoice
from billing.validation import parse
from tests.unit.invoicing_world import SCOPE, Billing

HOUSING = PenaltyInterest(Decimal("16"), (Tier(31, Fraction(1, 300)), Tier(91, Fraction(1, 130))))


def debts(w: Billing, terms: PenaltyInterest | None = HOUSING) -> Debts:
    policy = DunningPolicy(penalty_interest=terms)
    return Debts(w.customer_repo.get, w.invoices_repo.open_of, w.items_repo.of_customer, lambda s: policy, w.biller.now)


def test_an_invoice_100_days_overdue_under_the_housing_rule() -> None:
    w = Billing(datetime(2026, 3, 1, tzinfo=UTC))
    w.create("plan", code="flat", name="Flat", currency="RUB", interval="year", base_fee=1_000_000)
    cus = w.customer()
    [first] = w.bill(w.subscribe(cus, "flat"))
    assert first.due_date == "2026-03-15T00:00:00Z"
    w.at(datetime(2026, 6, 23, 9, tzinfo=UTC))  # 100 days after the due date
    debt = debts(w).of(SCOPE, cus)
    assert debt.to_public() == {
        "object": "debt", "currency": "RUB", "principal": 1_000_000, "late_fees": 0, "penalty_interest": 44_308,
        "total": 1_044_308,
        "invoices": [{"invoice": first.id, "number": first.number, "due_date": "2026-03-15T00:00:00Z",
                      "days_overdue": 100, "principal": 1_000_000, "penalty_interest": 44_308}],
    }  # fmt: skip

    def charge(kind: Kind, amount: int) -> None:
        body = {"customer": cus, "amount": amount, "currency": "RUB", "description": kind}
        w.invoice_items.create(SCOPE, parse(InvoiceItemCreate, body), kind=kind, source_invoice=first.id)

    charge("late_fee", 50_000)
    charge("penalty_interest", 32_000)  # what days 31-90 accrued, charged already
    debt = debts(w).of(SCOPE, cus)
    # the fee once, the interest once: 32,000 charged and pending + 12,308 accrued since
    assert (debt.principal, debt.late_fees, debt.penalty_interest, debt.total) == (1_000_000, 50_000, 44_308, 1_094_308)
    assert debt.invoices[0].penalty_interest == 44_308  # what the invoice accrued, billed or not


def test_no_policy_no_interest_and_nothing_overdue_no_debt() -> None:
    w = Billing(datetime(2026, 3, 1, tzinfo=UTC))
    w.create("plan", code="flat", name="Flat", currency="RUB", interval="year", base_fee=1_000_000)
    cus = w.customer()
    w.bill(w.subscribe(cus, "flat"))
    assert debts(w).of(SCOPE, cus).total == 0  # due on 15 March
    w.at(datetime(2026, 4, 1, tzinfo=UTC))
    assert (debts(w, None).of(SCOPE, cus).total, debts(w, None).of(SCOPE, cus).penalty_interest) == (1_000_000, 0)


def _open(principal: int, fee: int, interest: int, paid: int) -> Invoice:
    lines = [Line(id="il_1", type="subscription_fee", description="Fee", amount=principal)]
    lines += [Line(id="il_2", type="late_fee", description="Fee", amount=fee, discountable=False)] if fee else []
    lines += [Line(id="il_3", type="penalty_interest", description="Interest", amount=interest)] if interest else []
    total = principal + fee + interest
    return Invoice(
        id="inv_01kn00000000000000000000aa", livemode=False, customer="cus_x", billing_reason="manual",
        currency="RUB", period_start="2026-03-01T00:00:00Z", period_end="2026-03-01T00:00:00Z",
        created_at="2026-03-01T00:00:00Z", status="open", due_date="2026-03-15T00:00:00Z", lines=lines,
        total=total, amount_paid=paid, amount_due=total - paid,
    )  # fmt: skip


@given(st.integers(1, 10**8), st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**8), st.integers(0, 500))
def test_interest_never_accrues_on_fees_or_interest(
    principal: int, fee: int, interest: int, paid: int, days: int
) -> None:
    """Whatever fees and interest an invoice carries, it accrues on its principal alone (what is
    left of it once payments settled it first)."""
    paid = min(paid, principal)
    as_of = date.fromordinal(date(2026, 3, 15).toordinal() + days)
    [with_fees] = debt_of([_open(principal, fee, interest, paid)], [], HOUSING, as_of, "RUB").invoices or [None]
    if days == 0:
        assert with_fees is None
        return
    assert with_fees is not None
    assert with_fees.principal == principal - paid
    assert with_fees.penalty_interest == to_minor(accrued(HOUSING, days, principal - paid))
    debt = debt_of([_open(principal, fee, interest, paid)], [], HOUSING, as_of, "RUB")
    assert debt.total == principal - paid + fee + interest + with_fees.penalty_interest
