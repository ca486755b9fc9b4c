"""Monthly recurring revenue of one subscription, over its history.

A subscription's MRR is the recurring fees it is charged, normalized to a month: the plan's
base fee plus each recurring add-on's amount times its quantity, each divided by its interval
in months (a yearly fee counts a twelfth; a week is 12/52 of a month, a day 12/365), less a
coupon that repeats (``forever``, or ``repeating`` during its first ``duration_in_periods``
billing periods: the creation and each renewal start one); a ``once`` coupon is no recurring
discount. Fractions are exact and rounded once per subscription and moment, half-even, to the
currency's minor unit. One-off add-ons (no interval) and usage charges are not recurring.

Only ``active`` and ``past_due`` subscriptions count: trialing, paused, suspended and
canceled ones have an MRR of 0 (a trial counts once it converts).

The timeline is read from the subscription's history entries (status and plan after each
change, the add-ons as ``subscriptions.cycle.add_ons_at`` rebuilds them), so the aggregator
and the rebuild compute the same points from the same records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from billing.catalog.add_ons import AddOn
from billing.catalog.coupons import Coupon
from billing.catalog.plans import Plan
from billing.decimals import to_minor
from billing.subscriptions.cycle import add_ons_at
from billing.subscriptions.model import HistoryEntry, Subscription

COUNTED = frozenset({"active", "past_due"})
MONTHS_PER: dict[str, Fraction] = {
    "day": Fraction(12, 365), "week": Fraction(12, 52), "month": Fraction(1), "year": Fraction(12),
}  # fmt: skip
"""How many months one interval is."""


def monthly(amount: int, interval: str, count: int) -> Fraction:
    """``amount`` charged every ``count`` ``interval``s, as an exact amount per month."""
    return Fraction(amount) / (MONTHS_PER[interval] * count)


@dataclass(frozen=True)
class Point:
    """The subscription's MRR from ``at`` (an ISO time) on, under ``plan`` (a plan code)."""

    at: str
    mrr: int
    plan: str
    counted: bool  # active or past due: one of the plan's active subscriptions


@dataclass(frozen=True)
class Catalog:
    """What MRR needs of the catalog: plans by id, add-ons and coupons by code."""

    plan: Callable[[str], Plan]
    add_on: Callable[[str], AddOn | None]
    coupon: Callable[[str], Coupon | None]


def timeline(subscription: Subscription, history: Sequence[HistoryEntry], catalog: Catalog) -> list[Point]:
    """The subscription's MRR after each history entry, oldest first (entries in revision order)."""
    coupon = catalog.coupon(subscription.coupon) if subscription.coupon else None
    points: list[Point] = []
    periods = 0
    for entry in history:
        if entry.type in ("created", "renewed"):
            periods += 1
        plan = catalog.plan(entry.plan)
        fee = Fraction(0)
        if entry.status in COUNTED:
            fee = monthly(plan.base_fee, plan.interval, plan.interval_count)
            for item in add_ons_at(subscription, history, entry.at):
                add_on = catalog.add_on(item.add_on)
                if add_on and add_on.interval and add_on.currency == subscription.currency:
                    fee += monthly(add_on.amount, add_on.interval, add_on.interval_count) * item.quantity
            fee -= discount(coupon, fee, plan, periods)
        points.append(Point(entry.at, to_minor(fee), plan.code, entry.status in COUNTED))
    return points


def discount(coupon: Coupon | None, fee: Fraction, plan: Plan, periods: int) -> Fraction:
    """What a repeating coupon takes off ``fee`` (a month's recurring fees) in period ``periods``."""
    if coupon is None or coupon.duration == "once" or fee <= 0:
        return Fraction(0)
    if coupon.duration == "repeating" and periods > (coupon.duration_in_periods or 0):
        return Fraction(0)
    if coupon.applies_to_plans and plan.code not in coupon.applies_to_plans:
        return Fraction(0)
    if coupon.percent_off is not None:
        return fee * Fraction(coupon.percent_off) / 100
    return min(fee, monthly(coupon.amount_off or 0, plan.interval, plan.interval_count))
