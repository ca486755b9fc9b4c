"""Which billing period of a subscription a moment falls in."""

from __future__ import annotations

from datetime import datetime

from billing.catalog.plans import Plan
from billing.periods import period_at
from billing.subscriptions.model import Subscription


def clamped_period(anchor: datetime, plan: Plan, at: datetime, floor: datetime) -> tuple[datetime, datetime]:
    """The period containing ``at``, starting no earlier than ``floor`` (a stub first period)."""
    start, end = period_at(anchor, plan.interval, plan.interval_count, at)
    return max(start, floor), end


def covers(subscription: Subscription, at: datetime) -> bool:
    """The subscription had started at ``at`` and was not canceled yet."""
    started = datetime.fromisoformat(subscription.start_date) <= at
    ended = subscription.canceled_at is not None and datetime.fromisoformat(subscription.canceled_at) <= at
    return started and not ended


def period_containing(subscription: Subscription, plan: Plan, at: datetime) -> tuple[datetime, datetime]:
    """The trial is a period of its own; after it, periods follow the billing anchor."""
    start = datetime.fromisoformat(subscription.start_date)
    trial_end = datetime.fromisoformat(subscription.trial_end) if subscription.trial_end else None
    if trial_end and at < trial_end:
        return start, trial_end
    return clamped_period(datetime.fromisoformat(subscription.billing_anchor), plan, at, floor=trial_end or start)
