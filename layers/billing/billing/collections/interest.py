"""Penalty interest on an overdue principal, accrued day by day (pure: no I/O, no clock).

Day ``d`` of delay is the ``d``-th calendar day after the due date (UTC dates: an invoice due
on 15 March is 1 day overdue on 16 March). The fraction in force on day ``d`` is that of the
schedule's tier with the largest ``from_day <= d``; before the first tier nothing accrues.
One day's interest is

    principal(d) x annual_rate / 100 x fraction(d)

The fraction scales the annual rate itself, not a daily share of it: "1/300 of the key rate
per day" (the Russian housing code, art. 155 part 14: 1/300 from day 31, 1/130 from day 91) at
a key rate of 16% is 16 / 100 / 300 = 0.0533...% of the principal per day, not 16% / 365.

Worked example (``tests/unit/test_penalty_interest.py``): 10,000.00 RUB (1,000,000 kopecks)
overdue 100 days at 16% with that schedule: days 1-30 accrue nothing; days 31-90 (60 days)
1,000,000 x 0.16 / 300 x 60 = 32,000; days 91-100 (10 days) 1,000,000 x 0.16 / 130 x 10 =
12,307.69...; in all 44,307.69... kopecks, billed as 44,308 (443.08 RUB).

- Only the overdue principal accrues: the caller passes the principal without late fees and
  interest (``billing.collections.debt``), so interest never accrues on fees nor on itself.
- The sum is exact (``Fraction``) and rounded once, half to even, when billed or shown
  (``billing.decimals.to_minor``), never per day.
- ``cap_percent``: the interest of an invoice never exceeds this percent of its largest
  principal (null: no cap).
- The principal may change over the delay (a partial payment): ``Segment``s give it from a
  day on; the sum is computed per span where both the principal and the fraction are constant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise


@dataclass(frozen=True)
class Tier:
    """From day ``from_day`` of delay on, ``fraction`` of the annual rate accrues per day."""

    from_day: int
    fraction: Fraction


@dataclass(frozen=True)
class PenaltyInterest:
    """The policy's terms: a reference annual rate in percent, the tiers in ``from_day`` order,
    and an optional cap in percent of the principal."""

    annual_rate: Decimal
    schedule: tuple[Tier, ...]
    cap_percent: Decimal | None = None

    def fraction_on(self, day: int) -> Fraction:
        """The fraction in force on day ``day`` of delay (0 before the first tier)."""
        found = Fraction(0)
        for tier in self.schedule:
            if tier.from_day <= day:
                found = tier.fraction
        return found

    def daily(self, principal: int, day: int) -> Fraction:
        """One day's interest on ``principal`` (minor units), exact."""
        return principal * Fraction(self.annual_rate) / 100 * self.fraction_on(day)


@dataclass(frozen=True)
class Segment:
    """From day ``from_day`` of delay on, the overdue principal is ``principal`` (minor units)."""

    from_day: int
    principal: int


def days_overdue(due: date, as_of: date) -> int:
    """Calendar days from the due date to ``as_of``; 0 when not past due."""
    return max((as_of - due).days, 0)


def accrued(terms: PenaltyInterest | None, days: int, principal: int | Sequence[Segment]) -> Fraction:
    """The interest accrued over days 1..``days`` of delay, exact (round it once when billing)."""
    segments = [Segment(1, principal)] if isinstance(principal, int) else sorted(principal, key=lambda s: s.from_day)
    if terms is None or not segments:
        return Fraction(0)
    return capped(terms, _uncapped(terms, days, segments), max(s.principal for s in segments))


def accrued_between(terms: PenaltyInterest | None, after_day: int, to_day: int, principal: int) -> Fraction:
    """The interest of days ``after_day``+1..``to_day`` of delay on ``principal``, exact and not
    capped (a run adds each day's to what accrued before, then caps the sum: ``capped``)."""
    if terms is None or to_day <= after_day:
        return Fraction(0)
    return _uncapped(terms, to_day, [Segment(1, 0), Segment(after_day + 1, principal)])


def capped(terms: PenaltyInterest, total: Fraction, largest_principal: int) -> Fraction:
    """``total`` within the cap: ``cap_percent`` of the largest principal (none: no cap)."""
    if terms.cap_percent is None:
        return total
    return min(total, largest_principal * Fraction(terms.cap_percent) / 100)


def _uncapped(terms: PenaltyInterest, days: int, segments: Sequence[Segment]) -> Fraction:
    if days <= 0:
        return Fraction(0)
    cuts = {1, days + 1, *(t.from_day for t in terms.schedule), *(s.from_day for s in segments)}
    bounds = sorted(day for day in cuts if 1 <= day <= days + 1)
    total = Fraction(0)
    for start, end in pairwise(bounds):  # days [start, end): one principal, one fraction
        owed = principal_on(segments, start)
        total += terms.daily(owed, start) * (end - start)
    return total


def principal_on(segments: Sequence[Segment], day: int) -> int:
    """The principal on day ``day`` (0 before the first segment)."""
    owed = 0
    for segment in segments:
        if segment.from_day <= day:
            owed = segment.principal
    return max(owed, 0)
