"""Penalty interest: the formula on a hand-worked example, and its properties."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from billing.collections.interest import PenaltyInterest, Segment, Tier, accrued, days_overdue
from billing.decimals import to_minor

HOUSING = PenaltyInterest(Decimal("16"), (Tier(31, Fraction(1, 300)), Tier(91, Fraction(1, 130))))


def test_the_housing_rule_by_hand() -> None:
    """10,000.00 RUB overdue 100 days at a 16% key rate: nothing for days 1-30; days 31-90,
    1,000,000 x 0.16 / 300 = 533.33... kopecks a day, 60 days: 32,000; days 91-100,
    1,000,000 x 0.16 / 130 = 1,230.769... a day, 10 days: 12,307.69...; 44,308 when billed."""
    assert accrued(HOUSING, 30, 1_000_000) == 0
    assert accrued(HOUSING, 31, 1_000_000) == Fraction(1_600, 3)  # 533.33...: one day at 1/300
    assert accrued(HOUSING, 90, 1_000_000) == 32_000
    exact = accrued(HOUSING, 100, 1_000_000)
    assert exact == 32_000 + Fraction(160_000, 130) * 10
    assert to_minor(exact) == 44_308


def test_rounding_happens_once_half_to_even() -> None:
    terms = PenaltyInterest(Decimal("1"), (Tier(1, Fraction(1, 2)),))
    assert accrued(terms, 1, 100) == Fraction(1, 2)  # 100 x 1% x 1/2
    assert to_minor(accrued(terms, 1, 100)) == 0  # 0.5 rounds to even
    assert to_minor(accrued(terms, 3, 100)) == 2  # 1.5 rounds to even; per day it would be 0 x 3


def test_a_cap_and_a_principal_that_changes() -> None:
    capped = PenaltyInterest(Decimal("16"), HOUSING.schedule, Decimal("1"))
    assert accrued(capped, 400, 1_000_000) == 10_000  # 1% of the principal at most
    halves = [Segment(1, 1_000_000), Segment(61, 500_000)]  # half paid on day 61
    assert accrued(HOUSING, 90, halves) == 30 * Fraction(160_000, 300) + 30 * Fraction(80_000, 300)


def test_days_overdue_are_calendar_days_after_the_due_date() -> None:
    assert days_overdue(date(2026, 3, 15), date(2026, 3, 15)) == 0
    assert days_overdue(date(2026, 3, 15), date(2026, 3, 16)) == 1
    assert days_overdue(date(2026, 3, 15), date(2026, 3, 1)) == 0


def _per_day(terms: PenaltyInterest, days: int, principal: int) -> Fraction:
    return sum((principal * Fraction(terms.annual_rate) / 100 * terms.fraction_on(d) for d in range(1, days + 1)),
               Fraction(0))  # fmt: skip


terms_strategy = st.builds(
    lambda rate, starts, fractions: PenaltyInterest(
        Decimal(rate) / 100, tuple(Tier(day, f) for day, f in zip(sorted(set(starts)), fractions, strict=False))
    ),
    st.integers(1, 100_000),
    st.lists(st.integers(1, 400), min_size=1, max_size=4),
    st.lists(st.fractions(Fraction(1, 1000), Fraction(1)), min_size=4, max_size=4),
)


@given(terms_strategy, st.integers(0, 800), st.integers(0, 10**9))
def test_interest_is_the_sum_of_its_days_and_never_falls_as_days_pass(
    terms: PenaltyInterest, days: int, principal: int
) -> None:
    today = accrued(terms, days, principal)
    assert today == _per_day(terms, days, principal)
    assert accrued(terms, days + 1, principal) >= today
    assert to_minor(accrued(terms, days + 1, principal)) >= to_minor(today)
