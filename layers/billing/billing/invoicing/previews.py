"""Previews: invoices as they would be, computed without writing anything.

- The upcoming invoice of a subscription: its current period as if it closed now (usage so
  far, changes to prorate) and the next period's fees.
- A plan change: the unused share of the current fee back and the new plan's share of the
  same period, or, on another interval, the credit and the new plan's first full period. The
  plan is checked as the change itself would check it.
"""

from __future__ import annotations

from datetime import datetime

from billing.clock import to_wire
from billing.errors import DomainRuleViolation, InvalidRequest
from billing.invoicing import charges
from billing.invoicing.biller import SubscriptionBiller
from billing.invoicing.lines import Line
from billing.invoicing.model import Invoice
from billing.periods import shift
from billing.scope import Scope
from billing.subscriptions import cycle
from billing.subscriptions.lifecycle import next_status
from billing.subscriptions.model import Subscription
from billing.subscriptions.references import CatalogReferences, same_currency


def upcoming(biller: SubscriptionBiller, scope: Scope, subscription: Subscription) -> Invoice:
    if cycle.due_at(subscription) is None:
        raise DomainRuleViolation("The subscription is canceled and fully invoiced.", code="no_upcoming_invoice")
    history = list(biller.history(scope, subscription.id))
    now = to_wire(biller.now(scope, subscription.test_clock))
    step = cycle.next_step(subscription, biller.plan(scope, subscription.plan), history)
    if step.kind == "renew" and subscription.current_period_end > now:
        step = cycle.Step("renew", subscription.current_period_end, subscription.current_period_start, now)
    lines, basis = biller.closing_lines(scope, subscription, history, step)
    updated = subscription
    moved_to = None
    if step.kind == "renew":
        renewal = cycle.renew(subscription, subscription.current_period_end, lambda p: biller.plan(scope, p))
        updated, moved_to = renewal.subscription, (renewal.subscription.plan if renewal.previous_plan else None)
    if updated.status != "canceled" and (cycle.fees_due(updated) or step.kind == "renew"):
        lines += biller.fees(scope, updated, history, moved_to)
    lines += biller.one_offs(scope, updated)
    return biller.draft(scope, updated, step, lines, basis)[0].model_copy(update={"id": "upcoming"})


def plan_change(biller: SubscriptionBiller, scope: Scope, subscription: Subscription, plan_ref: str) -> Invoice:
    if not plan_ref:
        raise InvalidRequest("Name the plan to preview: ?plan=<code or id>.", code="parameter_missing", param="plan")
    new = CatalogReferences(biller.lookups.catalog).plan(scope, plan_ref, "plan")
    next_status(subscription.status, "change_plan")
    same_currency(subscription.currency, new.currency, f"Plan '{new.code}'", "plan")
    if new.id == subscription.plan:
        raise DomainRuleViolation("The subscription is already on this plan.", code="plan_unchanged", param="plan")
    now = to_wire(biller.now(scope, subscription.test_clock))
    start, end = subscription.current_period_start, subscription.current_period_end
    lines: list[Line] = []
    paid = (subscription.billed_through or "") >= end and subscription.status not in ("trialing", "paused")
    old = biller.plan(scope, subscription.plan)
    same_interval = (old.interval, old.interval_count) == (new.interval, new.interval_count)
    if paid and start <= now < end:
        part = charges.share(now, start, end)
        if same_interval:
            lines += charges.plan_change_lines(old, new, part, now, end)
        else:
            lines += charges.cut_credit(old, [], now, start, end)
    if not same_interval and subscription.status != "trialing":
        next_end = to_wire(shift(datetime.fromisoformat(now), new.interval, new.interval_count, 1))
        lines += charges.fee_lines(new, [], now, next_end, [])
    step = cycle.Step("close", now, None, None)
    draft = biller.draft(scope, subscription, step, [line for line in lines if line.amount], None)[0]
    return draft.model_copy(update={"id": "preview"})
