"""Billing periods: an anchor plus whole intervals (day, week, month, year) times count.

Months keep the anchor's day, clamped to the month's last day (an anchor on
Jan 31 gives Feb 28, then Mar 31), so periods never drift. Computed in UTC
until tenant time zones arrive.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta


def shift(anchor: datetime, interval: str, count: int, n: int) -> datetime:
    """The boundary ``n`` periods of ``count`` ``interval``s after (or before) ``anchor``."""
    if interval == "day":
        return anchor + timedelta(days=n * count)
    if interval == "week":
        return anchor + timedelta(weeks=n * count)
    months = n * count * (12 if interval == "year" else 1)
    if interval not in {"month", "year"}:
        raise ValueError(f"unknown interval {interval!r}")
    total = anchor.month - 1 + months
    year, month = anchor.year + total // 12, total % 12 + 1
    return anchor.replace(year=year, month=month, day=min(anchor.day, calendar.monthrange(year, month)[1]))


def period_at(anchor: datetime, interval: str, count: int, at: datetime) -> tuple[datetime, datetime]:
    """The period ``[start, end)`` that contains ``at``."""
    if interval in {"day", "week"}:
        length = timedelta(days=count * (7 if interval == "week" else 1))
        n = (at - anchor) // length
    else:
        months = count * (12 if interval == "year" else 1)
        n = ((at.year - anchor.year) * 12 + at.month - anchor.month) // months
    while shift(anchor, interval, count, n) > at:
        n -= 1
    while shift(anchor, interval, count, n + 1) <= at:
        n += 1
    return shift(anchor, interval, count, n), shift(anchor, interval, count, n + 1)
