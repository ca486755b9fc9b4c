"""Time math in one place: billing periods, spans and their exact shares.

A billing period is an anchor plus whole intervals (day, week, month, year) times count.
Months keep the anchor's day, clamped to the month's last day (an anchor on Jan 31 gives
Feb 28, then Mar 31), so periods never drift. Computed in UTC until tenant time zones arrive.

Stored and wire timestamps are UTC strings of second precision (``billing.clock.to_wire``),
which compare in time order as text; what needs arithmetic on them is here: seconds
between two, the exact share of a span after a moment (prorations are an exact fraction
times a price, rounded once), the start of the full period a stub is a part of.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from fractions import Fraction
from typing import NamedTuple

from billing.clock import to_wire


class Period(NamedTuple):
    """A span ``[start, end)`` of time."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: str, end: str) -> Period:
        return cls(instant(start), instant(end))

    def wire(self) -> tuple[str, str]:
        return to_wire(self.start), to_wire(self.end)


def instant(wire: str) -> datetime:
    """A stored or wire timestamp as a datetime."""
    return datetime.fromisoformat(wire)


def seconds(start: str, end: str) -> int:
    """Whole seconds from ``start`` to ``end`` (wire timestamps have no fraction)."""
    return int((instant(end) - instant(start)).total_seconds())


def share(at: str, start: str, end: str) -> Fraction:
    """The part of ``[start, end)`` left after ``at``, exactly."""
    length = seconds(start, end)
    return Fraction(seconds(at, end), length) if length > 0 else Fraction(0)


def before(moment: str) -> str:
    """The last second before ``moment``: what was in force at the end of a span ending then."""
    return to_wire(instant(moment) - timedelta(seconds=1))


def day(moment: str) -> str:
    """The date of a wire timestamp (as invoices describe spans)."""
    return moment[:10]


def full_period_start(interval: str, count: int, start: str, end: str) -> str:
    """The start of a full period ending at ``end`` (before ``start`` for a stub)."""
    return min(start, to_wire(shift(instant(end), interval, count, -1)))


def stub_share(interval: str, count: int, start: str, end: str) -> Fraction:
    """The part of a full period that ``[start, end)`` covers (1 for a full one)."""
    return min(Fraction(1), share(start, full_period_start(interval, count, start, end), end))


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


def period_at(anchor: datetime, interval: str, count: int, at: datetime) -> Period:
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
    return Period(shift(anchor, interval, count, n), shift(anchor, interval, count, n + 1))
