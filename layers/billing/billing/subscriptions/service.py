"""Subscription use cases.

Rules:
- A customer may hold several subscriptions, all in one currency: a customer
  without a currency takes its first plan's. Archived customers cannot subscribe.
- ``start_date`` may be backdated, not set in the future. A trial (``trial_days``,
  or the plan's) runs from the start; its end is the billing anchor unless
  ``billing_anchor`` is given. A first period that the anchor cuts short is a
  stub (``[start, next anchor boundary)``).
- Pending changes: a scheduled cancellation wins over everything else (a plan
  change cannot be scheduled on top of it, and tariff migrations skip it); a
  plan change chosen by the customer wins over a tariff migration.
- Changing to a plan with another interval restarts the billing period now.
- Each change is checked against the copy it was decided on (optimistic lock),
  recorded in the history with its time, and emits an event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, get_args

from billing.catalog.coupons import Coupon
from billing.catalog.lookups import CatalogLookups
from billing.catalog.plans import Plan
from billing.clock import Clock, SystemClock, to_wire
from billing.customers.service import CustomerRepository
from billing.errors import DomainRuleViolation, InvalidRequest, NotFound
from billing.events import DomainEvent
from billing.ids import found, is_id, new_id
from billing.pagination import Page, PageRequest, page_request
from billing.periods import shift
from billing.scope import Scope
from billing.subscriptions.cycle import clamped_period
from billing.subscriptions.lifecycle import Status, next_status
from billing.subscriptions.model import (
    AddOnItem,
    Cancel,
    ChangePlan,
    HistoryEntry,
    PendingChange,
    Subscription,
    SubscriptionCreate,
    SubscriptionUpdate,
)
from billing.subscriptions.references import CatalogReferences, every_period, same_currency
from billing.testclocks import ClockTimes, now_for
from billing.validation import choice_param

HISTORY_TYPES = {
    "change_plan": "plan_changed",
    "schedule_plan_change": "plan_change_scheduled",
    "cancel": "canceled",
    "schedule_cancel": "cancellation_scheduled",
    "pause": "paused",
    "resume": "resumed",
    "add_add_on": "add_on_added",
    "remove_add_on": "add_on_removed",
    "update": "updated",
    "schedule_tariff_change": "tariff_change_scheduled",
}


@dataclass(frozen=True)
class SubscriptionQuery:
    customer: str | None = None
    status: Status | None = None
    plan_code: str | None = None
    page: PageRequest = field(default_factory=PageRequest)

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> SubscriptionQuery:
        """``GET /v1/subscriptions``' query string; a 400 naming a bad parameter."""
        page = page_request(params, "sub")
        status = choice_param(params, "status", get_args(Status))
        customer, plan = params.get("customer"), params.get("plan")
        if customer is not None and not is_id(customer, "cus"):
            raise InvalidRequest("customer must be a customer id (cus_...).", param="customer")
        if plan is not None and not 1 <= len(plan) <= 64:
            raise InvalidRequest("plan must be a plan code.", param="plan")
        return cls(customer=customer, status=status, plan_code=plan, page=page)


@dataclass(frozen=True)
class Decision:
    """A change decided on a copy of a subscription (at ``revision``), not written yet: what
    the change writes, and what a preview of it bills."""

    subscription: Subscription
    revision: int
    history: HistoryEntry
    event: DomainEvent


@dataclass(frozen=True)
class NewSubscription:
    """A subscription and what its creation changes elsewhere, written in one transaction:
    the customer must still be active and in the subscription's currency (or get it)."""

    subscription: Subscription
    history: HistoryEntry
    event: DomainEvent
    set_customer_currency: bool = False
    coupon: Coupon | None = None  # redeemed once more


class SubscriptionRepository(Protocol):
    def create(self, scope: Scope, new: NewSubscription) -> None: ...

    def get(self, scope: Scope, subscription_id: str) -> Subscription | None: ...

    def save(
        self, scope: Scope, subscription: Subscription, revision: int, history: HistoryEntry, event: DomainEvent
    ) -> None:
        """Replace the subscription stored at ``revision``; ``Conflict`` on a race."""

    def list(
        self, scope: Scope, query: SubscriptionQuery, limit: int, starting_after: str | None
    ) -> Page[Subscription]: ...

    def history(self, scope: Scope, subscription_id: str) -> Sequence[HistoryEntry]: ...


class SubscriptionService:
    def __init__(
        self,
        repo: SubscriptionRepository,
        customers: CustomerRepository,
        catalog: CatalogLookups,
        clock: Clock | None = None,
        times: ClockTimes | None = None,
    ):
        self._repo = repo
        self._customers = customers
        self._refs = CatalogReferences(catalog)
        self._clock = clock or SystemClock()
        self._times = times

    # ------------------------------------------------------------------ create
    def create(self, scope: Scope, data: SubscriptionCreate) -> Subscription:
        customer = self._customers.get(scope, data.customer) if is_id(data.customer, "cus") else None
        if customer is None:
            raise InvalidRequest(f"No such customer: '{data.customer}'.", code="resource_missing", param="customer")
        now = now_for(self._clock, self._times, scope, customer.test_clock)
        if customer.status == "archived":
            raise DomainRuleViolation(f"Customer '{customer.id}' is archived.", code="customer_archived")
        plan = self._refs.plan(scope, data.plan, "plan")
        same_currency(customer.currency or plan.currency, plan.currency, f"Plan '{plan.code}'", "plan")
        coupon = self._refs.coupon(scope, data.coupon, plan, now) if data.coupon else None
        add_ons = [
            self._refs.add_on_line(scope, item, plan, f"add_ons[{i}]", now) for i, item in enumerate(data.add_ons)
        ]
        start = datetime.fromisoformat(data.start_date) if data.start_date else now
        if start > now + timedelta(minutes=5):
            raise DomainRuleViolation(
                "start_date cannot be in the future.", code="start_date_in_future", param="start_date"
            )
        trial_days = plan.trial_days if data.trial_days is None else data.trial_days
        trial_end = start + timedelta(days=trial_days) if trial_days else None
        anchor = datetime.fromisoformat(data.billing_anchor) if data.billing_anchor else (trial_end or start)
        if trial_end and trial_end > now:
            status: Status = "trialing"
            period = (start, trial_end)
        else:
            status = "active"
            period = clamped_period(anchor, plan, max(now, start), floor=trial_end or start)
        subscription = Subscription(
            id=new_id("sub", int(now.timestamp() * 1000)),
            livemode=scope.livemode,
            customer=customer.id,
            plan=plan.id,
            plan_code=plan.code,
            currency=plan.currency,
            status=status,
            start_date=to_wire(start),
            billing_anchor=to_wire(anchor),
            trial_end=to_wire(trial_end) if trial_end else None,
            current_period_start=to_wire(period[0]),
            current_period_end=to_wire(period[1]),
            coupon=coupon.code if coupon else None,
            add_ons=add_ons,
            metadata=data.metadata,
            created_at=to_wire(now),
            test_clock=customer.test_clock,
            invoiced_through=to_wire(start),
            billed_through=to_wire(trial_end) if status == "trialing" and trial_end else None,
        )
        new = NewSubscription(
            subscription=subscription,
            history=_entry(subscription, "created", at=start, trial_end=subscription.trial_end),
            event=self._event("SubscriptionCreated", scope, subscription, now),
            set_customer_currency=customer.currency is None,
            coupon=coupon,
        )
        self._repo.create(scope, new)
        return subscription

    # -------------------------------------------------------------------- read
    def get(self, scope: Scope, subscription_id: str) -> Subscription:
        return found(lambda object_id: self._repo.get(scope, object_id), subscription_id, "sub", "subscription")

    def list(self, scope: Scope, query: SubscriptionQuery) -> Page[Subscription]:
        return self._repo.list(scope, query, query.page.limit, query.page.starting_after)

    def history(self, scope: Scope, subscription_id: str) -> Sequence[HistoryEntry]:
        self.get(scope, subscription_id)
        return self._repo.history(scope, subscription_id)

    # ----------------------------------------------------------------- actions
    def update(self, scope: Scope, subscription_id: str, data: SubscriptionUpdate) -> Subscription:
        return self._act(
            scope, self.get(scope, subscription_id), "update", "SubscriptionUpdated", metadata=data.metadata
        )

    def change_plan(self, scope: Scope, subscription_id: str, data: ChangePlan) -> Subscription:
        return self._save(scope, self.plan_change(scope, self.get(scope, subscription_id), data))

    def plan_change(self, scope: Scope, current: Subscription, data: ChangePlan) -> Decision:
        """Decide a plan change on ``current`` (what ``change_plan`` writes and previews show)."""
        plan = self._refs.plan(scope, data.plan, "plan")
        same_currency(current.currency, plan.currency, f"Plan '{plan.code}'", "plan")
        if plan.id == current.plan:
            raise DomainRuleViolation("The subscription is already on this plan.", code="plan_unchanged", param="plan")
        for item in current.add_ons:
            every_period(self._refs.add_on(scope, item.add_on), plan, "plan")
        pending = current.pending_change
        if data.when == "period_end":
            if pending and pending.type == "cancel":
                raise DomainRuleViolation("The subscription is canceled at period end.", code="cancellation_pending")
            change = PendingChange(type="plan_change", plan=plan.id, effective_at=self._period_end(scope, current))
            return self._decide(
                scope, current, "schedule_plan_change", "SubscriptionChangeScheduled", pending_change=change
            )
        now = self._now(scope, current)
        old_plan = self._refs.plan_by_id(scope, current.plan)
        changes: dict[str, Any] = {"plan": plan.id, "plan_code": plan.code}
        if pending and pending.type != "cancel":
            changes["pending_change"] = None
        new_interval = (old_plan.interval, old_plan.interval_count) != (plan.interval, plan.interval_count)
        details: dict[str, Any] = {}
        if new_interval and current.status != "trialing":
            changes |= {
                "billing_anchor": to_wire(now),
                "current_period_start": to_wire(now),
                "current_period_end": to_wire(shift(now, plan.interval, plan.interval_count, 1)),
            }
            details = {
                "period_restarted": True,
                "previous_period_start": current.current_period_start,
                "previous_period_end": current.current_period_end,
            }
        return self._decide(
            scope, current, "change_plan", "SubscriptionChanged", previous_plan=current.plan, details=details, **changes
        )

    def cancel(self, scope: Scope, subscription_id: str, data: Cancel) -> Subscription:
        current = self.get(scope, subscription_id)
        if data.when == "period_end":
            pending = PendingChange(type="cancel", effective_at=self._period_end(scope, current))
            return self._act(
                scope, current, "schedule_cancel", "SubscriptionCancellationScheduled", pending_change=pending
            )
        now = to_wire(self._now(scope, current))
        return self._act(scope, current, "cancel", "SubscriptionCanceled", canceled_at=now, pending_change=None)

    def pause(self, scope: Scope, subscription_id: str) -> Subscription:
        current = self.get(scope, subscription_id)
        return self._act(scope, current, "pause", "SubscriptionPaused", paused_at=to_wire(self._now(scope, current)))

    def resume(self, scope: Scope, subscription_id: str) -> Subscription:
        """Back to active, or to trialing while the trial still runs."""
        current = self.get(scope, subscription_id)
        trialing = current.trial_end is not None and datetime.fromisoformat(current.trial_end) > self._now(
            scope, current
        )
        status: Status | None = "trialing" if trialing else None
        return self._act(scope, current, "resume", "SubscriptionResumed", status=status, paused_at=None)

    def add_add_on(self, scope: Scope, subscription_id: str, item: AddOnItem) -> Subscription:
        current = self.get(scope, subscription_id)
        plan = self._refs.plan_by_id(scope, current.plan)
        line = self._refs.add_on_line(scope, item, plan, "add_on", self._now(scope, current))
        previous = next((a for a in current.add_ons if a.add_on == item.add_on), None)
        add_ons = [a for a in current.add_ons if a.add_on != item.add_on] + [line]
        details = {"add_on": line.model_dump(mode="json"), "previous": previous and previous.model_dump(mode="json")}
        return self._act(scope, current, "add_add_on", "SubscriptionAddOnAdded", details=details, add_ons=add_ons)

    def remove_add_on(self, scope: Scope, subscription_id: str, code: str) -> Subscription:
        current = self.get(scope, subscription_id)
        removed = next((a for a in current.add_ons if a.add_on == code), None)
        if removed is None:
            raise NotFound(f"The subscription has no add-on '{code}'.", param="add_on")
        remaining = [a for a in current.add_ons if a.add_on != code]
        details = {"removed": removed.model_dump(mode="json")}
        return self._act(
            scope, current, "remove_add_on", "SubscriptionAddOnRemoved", details=details, add_ons=remaining
        )

    def schedule_tariff_change(self, scope: Scope, subscription_id: str, plan: Plan, effective_at: str) -> bool:
        """Move a subscription to ``plan`` (a plan's new version) at ``effective_at``.

        Returns False, changing nothing, when it is already scheduled so, or not eligible:
        ended, already on the plan, in another currency, or with a cancellation or a plan
        change of the customer's own pending.
        """
        current = self.get(scope, subscription_id)  # a consistent copy, not a list's
        pending = current.pending_change
        if pending and (
            pending.type in ("cancel", "plan_change") or (pending.plan, pending.effective_at) == (plan.id, effective_at)
        ):
            return False
        if current.status == "canceled" or current.currency != plan.currency or current.plan == plan.id:
            return False
        change = PendingChange(type="tariff_change", plan=plan.id, effective_at=effective_at)
        self._act(scope, current, "schedule_tariff_change", "TariffChangeScheduled", pending_change=change)
        return True

    # ----------------------------------------------------------------- helpers
    def _act(self, scope: Scope, current: Subscription, action: str, event_type: str, **changes: Any) -> Subscription:
        return self._save(scope, self._decide(scope, current, action, event_type, **changes))

    def _save(self, scope: Scope, decision: Decision) -> Subscription:
        self._repo.save(scope, decision.subscription, decision.revision, decision.history, decision.event)
        return decision.subscription

    def _decide(
        self,
        scope: Scope,
        current: Subscription,
        action: str,
        event_type: str,
        status: Status | None = None,
        previous_plan: str | None = None,
        details: dict[str, Any] | None = None,
        **changes: Any,
    ) -> Decision:
        """Apply ``changes`` to ``current`` (the copy the decision is made on) if its status allows."""
        allowed = next_status(current.status, action)  # refuses what the status does not allow
        status = status or allowed
        updated = current.model_copy(update={**changes, "status": status, "revision": current.revision + 1})
        pending = updated.pending_change
        updated.cancel_at_period_end = pending is not None and pending.type == "cancel"
        details = {**(details or {}), **({"previous_plan": previous_plan} if previous_plan else {})}
        if pending:
            details["pending_change"] = pending.model_dump()
        now = self._now(scope, current)
        entry = _entry(updated, HISTORY_TYPES[action], at=now, **details)
        extra = {"previous_plan": previous_plan} if previous_plan else {}
        event = self._event(event_type, scope, updated, now, **extra)
        return Decision(updated, current.revision, entry, event)

    def _period_end(self, scope: Scope, subscription: Subscription) -> str:
        """End of the period running now (the stored one may have ended; runs roll it later)."""
        now = self._now(scope, subscription)
        if datetime.fromisoformat(subscription.current_period_end) > now:
            return subscription.current_period_end
        plan = self._refs.plan_by_id(scope, subscription.plan)
        return to_wire(clamped_period(datetime.fromisoformat(subscription.billing_anchor), plan, now, floor=now)[1])

    def _now(self, scope: Scope, subscription: Subscription) -> datetime:
        """The subscription's time: its test clock's, or the wall clock's."""
        return now_for(self._clock, self._times, scope, subscription.test_clock)

    def _event(self, kind: str, scope: Scope, subscription: Subscription, at: datetime, **extra: Any) -> DomainEvent:
        data = {"object": subscription.model_dump(mode="json"), **extra}
        return DomainEvent(type=kind, scope=scope, occurred_at=at, data=data)


def _entry(subscription: Subscription, kind: str, at: datetime, **details: Any) -> HistoryEntry:
    return HistoryEntry(at=to_wire(at), type=kind, status=subscription.status, plan=subscription.plan, details=details)
