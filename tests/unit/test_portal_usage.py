"""The portal's usage series and charts: a day's quantity by the meter's aggregation, the
period's days, bars scaled to the largest value."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from billing.pages.charts import TOP, bars
from billing.portal.usage import DAYS, _daily, _days
from billing.usage.model import UsageEvent


def event(day: int, value: str, unique: str | None = None, hour: int = 10) -> UsageEvent:
    at = f"2026-03-{day:02d}T{hour:02d}:00:00Z"
    return UsageEvent(f"t{day}{hour}{value}", "cus_1", "m", at, {}, "sub_1", "2026-03-01T00:00:00Z",
                      "2026-04-01T00:00:00Z", "sum", Decimal(value), {}, at, unique)  # fmt: skip


def test_a_days_quantity_follows_the_meters_aggregation() -> None:
    events = [event(2, "3"), event(2, "5", "a", hour=12), event(2, "4", "a", hour=11), event(4, "1", "b")]
    days = [date(2026, 3, d) for d in (2, 3, 4)]
    values = {name: [v for _, v in _daily(events, days, name)] for name in ("sum", "count", "max", "latest")}
    assert values == {"sum": [12, 0, 1], "count": [3, 0, 1], "max": [5, 0, 1], "latest": [5, 0, 1]}
    assert [v for _, v in _daily(events, days, "unique_count")] == [2, 0, 1]  # None, "a" on the 2nd


def test_the_days_are_the_periods_or_the_last_ones_of_a_long_period() -> None:
    month = _days(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 28, 23, 59, tzinfo=UTC),
                  datetime(2026, 2, 3, tzinfo=UTC))  # fmt: skip
    assert (month[0], month[-1], len(month)) == (date(2026, 2, 1), date(2026, 2, 28), 28)
    year = _days(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC),
                 datetime(2026, 3, 10, tzinfo=UTC))  # fmt: skip
    assert (year[-1], len(year)) == (date(2026, 3, 10), DAYS)


def test_bars_are_scaled_to_the_largest_value() -> None:
    points = [("03-01", Decimal(0), "0"), ("03-02", Decimal(10), "10"), ("03-03", Decimal("0.01"), "0.01")]
    chart = bars("water", points)
    heights = [bar.height for bar in chart.bars]
    assert heights == [0, chart.baseline - TOP, 1]  # the smallest value still shows
    assert chart.peak == "10" and all(bar.y + bar.height == chart.baseline for bar in chart.bars)
