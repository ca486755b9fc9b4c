"""Billing period arithmetic: month-end clamping without drift, any interval, any instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.periods import period_at, shift


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_month_end_anchor_clamps_and_does_not_drift() -> None:
    anchor = utc(2026, 1, 31, 10)
    assert [shift(anchor, "month", 1, n).date().isoformat() for n in range(4)] == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
    ]
    assert shift(utc(2024, 2, 29), "year", 1, 1) == utc(2025, 2, 28)


def test_period_containing_an_instant() -> None:
    anchor = utc(2026, 1, 15)
    assert period_at(anchor, "month", 1, utc(2026, 3, 20)) == (utc(2026, 3, 15), utc(2026, 4, 15))
    assert period_at(anchor, "month", 1, utc(2026, 3, 15)) == (utc(2026, 3, 15), utc(2026, 4, 15))
    assert period_at(anchor, "month", 3, utc(2026, 5, 1)) == (utc(2026, 4, 15), utc(2026, 7, 15))
    assert period_at(anchor, "week", 2, utc(2026, 1, 30)) == (utc(2026, 1, 29), utc(2026, 2, 12))
    assert period_at(anchor, "year", 1, utc(2025, 6, 1)) == (utc(2025, 1, 15), utc(2026, 1, 15))


@given(
    anchor=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
    offset=st.timedeltas(min_value=timedelta(days=-2000), max_value=timedelta(days=2000)),
    interval=st.sampled_from(["day", "week", "month", "year"]),
    count=st.integers(min_value=1, max_value=12),
)
def test_periods_tile_time(anchor: datetime, offset: timedelta, interval: str, count: int) -> None:
    at = anchor + offset
    start, end = period_at(anchor, interval, count, at)
    assert start <= at < end
    assert period_at(anchor, interval, count, end)[0] == end  # the next period starts where this one ends


def test_unknown_interval() -> None:
    with pytest.raises(ValueError, match="interval"):
        shift(utc(2026, 1, 1), "fortnight", 1, 1)


def test_shares_of_a_span_are_exact_fractions_and_a_stub_pays_its_part_of_a_full_period() -> None:
    from fractions import Fraction

    from billing.periods import Period, full_period_start, share, stub_share

    assert share("2026-03-11T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z") == Fraction(21, 31)
    assert share("2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z") == 0  # an empty span
    stub = ("2026-03-15T00:00:00Z", "2026-04-01T00:00:00Z")
    assert full_period_start("month", 1, *stub) == "2026-03-01T00:00:00Z"
    assert stub_share("month", 1, *stub) == Fraction(17, 31)
    assert stub_share("month", 1, "2026-02-01T00:00:00Z", "2026-04-01T00:00:00Z") == 1  # never more than a period
    assert Period.of(*stub).wire() == stub
