"""The billing cycle of a subscription: what must be invoiced next, and when.

Fees are billed in advance, usage in arrears. A subscription moves through *steps*, each
at a moment (its ``at``), each producing at most one invoice:

- ``close``: a period that is over but not invoiced: usage of ``[invoiced_through, end)``.
  It is the period a cancellation ended, a period an interval change cut short, or a
  backdated period. Its fees are billed with it if they never were.
- ``open``: the current period's fees, not billed yet (a new subscription).
- ``renew``: the current period ended: its usage, then the pending change due (a plan change,
  a tariff migration, a cancellation), the end of a trial, the next period, and its fees.

``due_at`` is the moment of the next step (None: nothing left to bill). A step is applied
together with its invoice in one write, so a run that crashes half-way, or runs twice,
resumes from the subscription itself and never bills a step twice nor skips one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from billing.catalog.plans import Plan
from billing.clock import to_wire
from billing.periods import Period, instant, period_at
from billing.subscriptions.model import HistoryEntry, Subscription, SubscriptionAddOn

StepKind = Literal["close", "open", "renew"]


@dataclass(frozen=True)
class Step:
    kind: StepKind
    at: str
    usage_start: str | None  # the usage period billed in arrears (its aggregates are keyed by its start)
    usage_end: str | None


def clamped_period(anchor: datetime, plan: Plan, at: datetime, floor: datetime) -> Period:
    """The period containing ``at``, starting no earlier than ``floor`` (a stub first period)."""
    start, end = period_at(anchor, plan.interval, plan.interval_count, at)
    return Period(max(start, floor), end)


def covers(subscription: Subscription, at: datetime) -> bool:
    """The subscription had started at ``at`` and was not canceled yet."""
    started = instant(subscription.start_date) <= at
    ended = subscription.canceled_at is not None and instant(subscription.canceled_at) <= at
    return started and not ended


def period_containing(subscription: Subscription, plan: Plan, at: datetime) -> Period:
    """The trial is a period of its own; after it, periods follow the billing anchor."""
    start = instant(subscription.start_date)
    trial_end = instant(subscription.trial_end) if subscription.trial_end else None
    if trial_end and at < trial_end:
        return Period(start, trial_end)
    return clamped_period(instant(subscription.billing_anchor), plan, at, floor=trial_end or start)


def invoiced_through(subscription: Subscription) -> str:
    return subscription.invoiced_through or subscription.start_date


def _limit(subscription: Subscription) -> str:
    """Usage before this moment belongs to periods that are over."""
    if subscription.status == "canceled":
        return subscription.canceled_at or subscription.current_period_end
    return subscription.current_period_start


def fees_due(subscription: Subscription) -> bool:
    return (subscription.billed_through or "") < subscription.current_period_end


def due_at(subscription: Subscription) -> str | None:
    """When the next step is due: the index the invoice runs read."""
    invoiced, limit = invoiced_through(subscription), _limit(subscription)
    if invoiced < limit:
        return limit  # a closed period: over since then at the latest
    if subscription.status == "canceled":
        return None
    if fees_due(subscription):
        return subscription.current_period_start
    return subscription.current_period_end


def next_step(subscription: Subscription, plan: Plan, history: Sequence[HistoryEntry]) -> Step:
    """The step ``due_at`` announces. Call only when ``due_at`` is not None."""
    invoiced = invoiced_through(subscription)
    if invoiced < _limit(subscription):
        end = _close_end(subscription, plan, history, invoiced)
        return Step("close", end, invoiced, end)
    if fees_due(subscription):
        return Step("open", subscription.current_period_start, None, None)
    start, end = subscription.current_period_start, subscription.current_period_end
    return Step("renew", end, start, end)


def _close_end(subscription: Subscription, plan: Plan, history: Sequence[HistoryEntry], start: str) -> str:
    """The end of the closed span starting at ``start`` that one ``close`` step bills."""
    return min(_natural_end(subscription, plan, history, start), _limit(subscription))


def closing_span(subscription: Subscription, plan: Plan, history: Sequence[HistoryEntry], at: str) -> tuple[str, str]:
    """The usage period that holds ``at`` among those the next ``close`` steps will bill
    (``invoiced_through <= at`` < the end of what is over): where usage sent late for it
    belongs, as billing will read it."""
    start = invoiced_through(subscription)
    while True:
        end = _close_end(subscription, plan, history, start)
        if at < end or end >= _limit(subscription):
            return start, end
        start = end


def closed_through(subscription: Subscription) -> str:
    """Usage before this moment belongs to periods that are over (the next steps close them)."""
    return _limit(subscription)


def _natural_end(subscription: Subscription, plan: Plan, history: Sequence[HistoryEntry], start: str) -> str:
    """Where the period starting at ``start`` ended: at the next restart of the billing period
    (an interval change), or at the end the period had when the restart came later than it
    (the run had not rolled it yet); without a restart, where its anchor puts it."""
    restarts = sorted(
        (entry for entry in history if entry.details.get("period_restarted") and entry.at > start),
        key=lambda entry: entry.at,
    )
    if restarts:
        restart = restarts[0]
        previous_end = restart.details.get("previous_period_end") or restart.at
        return min(restart.at, previous_end) if previous_end > start else restart.at
    return to_wire(period_containing(subscription, plan, instant(start)).end)


def state_at(subscription: Subscription, history: Sequence[HistoryEntry], moment: str) -> HistoryEntry | None:
    """The last transition at or before ``moment``, by time (a renewal is written when the run
    gets to it, after changes made later than its boundary)."""
    before = [entry for entry in history if entry.at <= moment]
    return max(before, key=lambda entry: entry.at) if before else None


def plan_at(subscription: Subscription, history: Sequence[HistoryEntry], moment: str) -> str:
    """The plan in force at ``moment``."""
    state = state_at(subscription, history, moment)
    return state.plan if state else subscription.plan


def fees_waived(subscription: Subscription, history: Sequence[HistoryEntry], start: str) -> bool:
    """A period that starts during the trial, or while the subscription is paused, has no fees."""
    state = state_at(subscription, history, start)
    status = state.status if state else subscription.status
    in_trial = subscription.trial_end is not None and start < subscription.trial_end
    return status == "paused" or in_trial


@dataclass(frozen=True)
class Renewal:
    """The subscription after its period ended, and how its history records the move."""

    subscription: Subscription
    history_type: str
    event_type: str
    previous_plan: str | None = None


def renew(subscription: Subscription, at: str, plan_of: Callable[[str], Plan]) -> Renewal:
    """Roll the period over at ``at`` (its end): apply the pending change due by then (a
    cancellation ends the subscription; a plan change or tariff migration moves it, restarting
    the period on another interval), end a finished trial, and open the next period."""
    moment = instant(at)
    pending = subscription.pending_change
    base = {"invoiced_through": at, "pending_change": None if pending and pending.effective_at <= at else pending}
    if pending and pending.effective_at <= at and pending.type == "cancel":
        ended = subscription.model_copy(
            update={**base, "status": "canceled", "canceled_at": at, "cancel_at_period_end": False}
        )
        return Renewal(ended, "canceled", "SubscriptionCanceled")
    changes: dict[str, object] = dict(base)
    plan = plan_of(subscription.plan)
    previous_plan = None
    if pending and pending.effective_at <= at and pending.plan:
        new_plan = plan_of(pending.plan)
        if (new_plan.interval, new_plan.interval_count) != (plan.interval, plan.interval_count):
            changes["billing_anchor"] = at
        changes |= {"plan": new_plan.id, "plan_code": new_plan.code}
        previous_plan, plan = subscription.plan, new_plan
    if subscription.status == "trialing" and subscription.trial_end and subscription.trial_end <= at:
        changes["status"] = "active"
    moved = subscription.model_copy(update=changes)
    end = period_containing(moved, plan, moment).end
    moved = moved.model_copy(update={"current_period_start": at, "current_period_end": to_wire(end)})
    if previous_plan:
        return Renewal(moved, "plan_changed", "SubscriptionChanged", previous_plan)
    return Renewal(moved, "renewed", "SubscriptionRenewed")


def add_ons_at(subscription: Subscription, history: Sequence[HistoryEntry], moment: str) -> list[SubscriptionAddOn]:
    """The add-ons the subscription carried at ``moment``: today's, with the changes made
    since undone (latest first)."""
    items = {item.add_on: item for item in subscription.add_ons}
    for entry in sorted((e for e in history if e.at > moment), key=lambda e: e.at, reverse=True):
        if entry.type == "add_on_added":
            items.pop(entry.details["add_on"]["add_on"], None)
            if entry.details.get("previous"):
                previous = SubscriptionAddOn.model_validate(entry.details["previous"])
                items[previous.add_on] = previous
        elif entry.type == "add_on_removed" and entry.details.get("removed"):
            removed = SubscriptionAddOn.model_validate(entry.details["removed"])
            items[removed.add_on] = removed
    return list(items.values())
