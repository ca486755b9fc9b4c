"""Subscription use cases.

Rules:
- A customer may hold several subscriptions. The plan's currency must be the
  customer's; a customer without a currency takes the plan's on its first
  subscription. Archived customers cannot subscribe.
- A plan named by code means its current version; superseded versions take no
  new subscriptions. A plan change keeps the currency.
- Trials: ``trial_days`` (or the plan's) from ``start_date``; the first period
  runs to the trial's end, which becomes the billing anchor. Otherwise the
  anchor is ``billing_anchor`` or ``start_date`` (which may be backdated).
- Changing to a plan with another interval restarts the billing period now.
- Every transition is recorded in the history with its time, and emits an event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast, get_args

from billing.catalog.add_ons import AddOn
from billing.catalog.coupons import Coupon
from billing.catalog.plans import Plan
from billing.catalog.service import CatalogService
from billing.clock import Clock, SystemClock, to_wire
from billing.customers.service import CustomerRepository
from billing.errors import DomainRuleViolation, InvalidRequest, NotFound
from billing.events import DomainEvent
from billing.ids import is_id, new_id
from billing.pagination import Page, page_request
from billing.periods import period_at, shift
from billing.scope import Scope
from billing.subscriptions.lifecycle import Status, next_status
from billing.subscriptions.model import (
    AddOnItem,
    Cancel,
    ChangePlan,
    HistoryEntry,
    NoBody,
    PendingChange,
    Subscription,
    SubscriptionCreate,
    SubscriptionUpdate,
)
from billing.validation import parse


@dataclass(frozen=True)
class SubscriptionQuery:
    customer: str | None = None
    status: Status | None = None
    plan_code: str | None = None


@dataclass(frozen=True)
class NewSubscription:
    """A subscription and what its creation changes elsewhere, written in one transaction."""

    subscription: Subscription
    history: HistoryEntry
    event: DomainEvent
    customer_currency: str | None = None  # set on a customer that had none
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
        catalog: CatalogService,
        clock: Clock | None = None,
    ):
        self._repo = repo
        self._customers = customers
        self._catalog = catalog
        self._clock = clock or SystemClock()

    # ------------------------------------------------------------------ create
    def create(self, scope: Scope, body: Any) -> Subscription:
        data = parse(SubscriptionCreate, body)
        now = self._clock.now()
        customer = self._customers.get(scope, data.customer) if is_id(data.customer, "cus") else None
        if customer is None:
            raise InvalidRequest(f"No such customer: '{data.customer}'.", code="resource_missing", param="customer")
        if customer.status == "archived":
            raise DomainRuleViolation(f"Customer '{customer.id}' is archived.", code="customer_archived")
        plan = self._plan(scope, data.plan, "plan")
        if customer.currency not in (None, plan.currency):
            raise DomainRuleViolation(
                f"Plan '{plan.code}' is priced in {plan.currency}; "
                f"customer '{customer.id}' pays in {customer.currency}.",
                code="currency_mismatch",
            )
        coupon = self._coupon(scope, data.coupon, plan, now) if data.coupon else None
        add_ons = [self._add_on_line(scope, item, plan, f"add_ons[{i}]", now) for i, item in enumerate(data.add_ons)]
        start = _parse(data.start_date) if data.start_date else now
        trial_days = plan.trial_days if data.trial_days is None else data.trial_days
        trial_end = start + timedelta(days=trial_days) if trial_days else None
        anchor = trial_end or (_parse(data.billing_anchor) if data.billing_anchor else start)
        if trial_end and trial_end > now:
            status: Status = "trialing"
            period = (start, trial_end)
        else:
            status = "active"
            period = period_at(anchor, plan.interval, plan.interval_count, max(now, start))
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
        )
        history = self._entry(subscription, "created", at=start, trial_end=subscription.trial_end)
        new = NewSubscription(
            subscription=subscription,
            history=history,
            event=self._event("SubscriptionCreated", scope, subscription),
            customer_currency=plan.currency if customer.currency is None else None,
            coupon=coupon,
        )
        self._repo.create(scope, new)
        return subscription

    # -------------------------------------------------------------------- read
    def get(self, scope: Scope, subscription_id: str) -> Subscription:
        subscription = self._repo.get(scope, subscription_id)
        if subscription is None:
            raise NotFound(f"No such subscription: '{subscription_id}'", param="id")
        return subscription

    def list(self, scope: Scope, params: Mapping[str, str]) -> Page[Subscription]:
        page = page_request(params, "sub")
        status = params.get("status")
        if status is not None and status not in get_args(Status):
            raise InvalidRequest(f"status must be one of {', '.join(get_args(Status))}.", param="status")
        query = SubscriptionQuery(
            customer=params.get("customer"), status=cast(Status, status), plan_code=params.get("plan")
        )
        return self._repo.list(scope, query, page.limit, page.starting_after)

    def history(self, scope: Scope, subscription_id: str) -> Sequence[HistoryEntry]:
        self.get(scope, subscription_id)
        return self._repo.history(scope, subscription_id)

    # ----------------------------------------------------------------- actions
    def update(self, scope: Scope, subscription_id: str, body: Any) -> Subscription:
        data = parse(SubscriptionUpdate, body)
        return self._act(scope, subscription_id, "update", "SubscriptionUpdated", metadata=data.metadata)

    def change_plan(self, scope: Scope, subscription_id: str, body: Any) -> Subscription:
        data = parse(ChangePlan, body)
        current = self.get(scope, subscription_id)
        plan = self._plan(scope, data.plan, "plan")
        if plan.currency != current.currency:
            raise DomainRuleViolation(
                f"Plan '{plan.code}' is priced in {plan.currency}; the subscription is in {current.currency}.",
                code="currency_mismatch",
            )
        if plan.id == current.plan:
            raise DomainRuleViolation("The subscription is already on this plan.", code="plan_unchanged", param="plan")
        if data.when == "period_end":
            pending = PendingChange(type="plan_change", plan=plan.id, effective_at=current.current_period_end)
            return self._act(
                scope, subscription_id, "schedule_plan_change", "SubscriptionChangeScheduled", pending_change=pending
            )
        now = self._clock.now()
        old_plan = cast(Plan, self._catalog.get(scope, "plan", current.plan))
        changes: dict[str, Any] = {"plan": plan.id, "plan_code": plan.code, "pending_change": None}
        new_interval = (old_plan.interval, old_plan.interval_count) != (plan.interval, plan.interval_count)
        if new_interval and current.status != "trialing":
            changes |= {
                "billing_anchor": to_wire(now),
                "current_period_start": to_wire(now),
                "current_period_end": to_wire(shift(now, plan.interval, plan.interval_count, 1)),
            }
        return self._act(
            scope, subscription_id, "change_plan", "SubscriptionChanged", previous_plan=current.plan, **changes
        )

    def cancel(self, scope: Scope, subscription_id: str, body: Any) -> Subscription:
        data = parse(Cancel, body)
        current = self.get(scope, subscription_id)
        if data.when == "period_end":
            pending = PendingChange(type="cancel", effective_at=current.current_period_end)
            return self._act(
                scope, subscription_id, "schedule_cancel", "SubscriptionCancellationScheduled",
                cancel_at_period_end=True, pending_change=pending,
            )  # fmt: skip
        now = to_wire(self._clock.now())
        return self._act(scope, subscription_id, "cancel", "SubscriptionCanceled", canceled_at=now, pending_change=None)

    def pause(self, scope: Scope, subscription_id: str, body: Any = None) -> Subscription:
        parse(NoBody, body or {})
        return self._act(scope, subscription_id, "pause", "SubscriptionPaused", paused_at=to_wire(self._clock.now()))

    def resume(self, scope: Scope, subscription_id: str, body: Any = None) -> Subscription:
        parse(NoBody, body or {})
        return self._act(scope, subscription_id, "resume", "SubscriptionResumed", paused_at=None)

    def add_add_on(self, scope: Scope, subscription_id: str, body: Any) -> Subscription:
        item = parse(AddOnItem, body)
        current = self.get(scope, subscription_id)
        plan = self._catalog.get(scope, "plan", current.plan)
        line = self._add_on_line(scope, item, cast(Plan, plan), "add_on", self._clock.now())
        add_ons = [a for a in current.add_ons if a["add_on"] != item.add_on] + [line]
        return self._act(scope, subscription_id, "add_add_on", "SubscriptionAddOnAdded", add_ons=add_ons)

    def remove_add_on(self, scope: Scope, subscription_id: str, code: str) -> Subscription:
        current = self.get(scope, subscription_id)
        remaining = [a for a in current.add_ons if a["add_on"] != code]
        if len(remaining) == len(current.add_ons):
            raise NotFound(f"The subscription has no add-on '{code}'.", param="add_on")
        return self._act(scope, subscription_id, "remove_add_on", "SubscriptionAddOnRemoved", add_ons=remaining)

    def schedule_tariff_change(self, scope: Scope, subscription: Subscription, plan: Plan, effective_at: str) -> bool:
        """Move ``subscription`` to ``plan`` at ``effective_at`` (a migration to a new plan version).
        Returns False when it is already scheduled or not eligible (another currency, ended)."""
        pending = subscription.pending_change
        if pending and pending.type == "tariff_change" and pending.plan == plan.id:
            return False
        if subscription.status == "canceled" or subscription.currency != plan.currency or subscription.plan == plan.id:
            return False
        change = PendingChange(type="tariff_change", plan=plan.id, effective_at=effective_at)
        self._act(scope, subscription.id, "schedule_tariff_change", "TariffChangeScheduled", pending_change=change)
        return True

    # ----------------------------------------------------------------- helpers
    def _act(self, scope: Scope, subscription_id: str, action: str, event_type: str, **changes: Any) -> Subscription:
        current = self.get(scope, subscription_id)
        status = next_status(current.status, action)
        previous_plan = changes.pop("previous_plan", None)
        updated = current.model_copy(update={**changes, "status": status, "revision": current.revision + 1})
        details = {"previous_plan": previous_plan} if previous_plan else {}
        if updated.pending_change:
            details["pending_change"] = updated.pending_change.model_dump()
        entry = self._entry(updated, _history_type(action), at=self._clock.now(), **details)
        event = self._event(event_type, scope, updated, **({"previous_plan": previous_plan} if previous_plan else {}))
        self._repo.save(scope, updated, current.revision, entry, event)
        return updated

    def _plan(self, scope: Scope, ref: str, param: str) -> Plan:
        found = self._plan_by_id(scope, ref) if is_id(ref, "plan") else self._catalog.find(scope, "plan", ref)
        if found is None:
            raise InvalidRequest(f"No such plan: '{ref}'.", code="resource_missing", param=param)
        plan = cast(Plan, found)
        if plan.status == "superseded":
            raise DomainRuleViolation(
                f"Plan '{plan.id}' was superseded by '{plan.superseded_by}'.", code="plan_superseded", param=param
            )
        return plan

    def _plan_by_id(self, scope: Scope, plan_id: str) -> Plan | None:
        try:
            return cast(Plan, self._catalog.get(scope, "plan", plan_id))
        except NotFound:
            return None

    def _coupon(self, scope: Scope, code: str, plan: Plan, now: datetime) -> Coupon:
        coupon = cast(Coupon | None, self._catalog.find(scope, "coupon", code))
        if coupon is None:
            raise InvalidRequest(f"No such coupon: '{code}'.", code="resource_missing", param="coupon")
        if coupon.redeem_by and _parse(coupon.redeem_by) <= now:
            raise DomainRuleViolation(
                f"Coupon '{code}' expired on {coupon.redeem_by}.", code="coupon_expired", param="coupon"
            )
        if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
            raise DomainRuleViolation(f"Coupon '{code}' is fully redeemed.", code="coupon_exhausted", param="coupon")
        if coupon.applies_to_plans and plan.code not in coupon.applies_to_plans:
            raise DomainRuleViolation(
                f"Coupon '{code}' does not apply to plan '{plan.code}'.", code="coupon_not_applicable", param="coupon"
            )
        if coupon.currency not in (None, plan.currency):
            raise DomainRuleViolation(
                f"Coupon '{code}' is in {coupon.currency}, the plan in {plan.currency}.",
                code="currency_mismatch",
                param="coupon",
            )
        return coupon

    def _add_on_line(self, scope: Scope, item: AddOnItem, plan: Plan, param: str, now: datetime) -> dict[str, Any]:
        add_on = cast(AddOn | None, self._catalog.find(scope, "add_on", item.add_on))
        if add_on is None:
            raise InvalidRequest(f"No such add-on: '{item.add_on}'.", code="resource_missing", param=f"{param}.add_on")
        if add_on.currency != plan.currency:
            raise DomainRuleViolation(
                f"Add-on '{add_on.code}' is in {add_on.currency}, the plan in {plan.currency}.",
                code="currency_mismatch",
                param=param,
            )
        return {"add_on": add_on.code, "add_on_id": add_on.id, "quantity": item.quantity, "added_at": to_wire(now)}

    def _entry(self, subscription: Subscription, kind: str, at: datetime, **details: Any) -> HistoryEntry:
        return HistoryEntry(
            at=to_wire(at), type=kind, status=subscription.status, plan=subscription.plan, details=details
        )

    def _event(self, kind: str, scope: Scope, subscription: Subscription, **extra: Any) -> DomainEvent:
        data = {"object": subscription.model_dump(mode="json"), **extra}
        return DomainEvent(type=kind, scope=scope, occurred_at=self._clock.now(), data=data)


def _history_type(action: str) -> str:
    return {"update": "updated", "schedule_tariff_change": "tariff_change_scheduled"}.get(action, action)


def _parse(wire: str) -> datetime:
    return datetime.fromisoformat(wire)
