"""Previews: invoices as they would be, computed without writing anything.

- The upcoming invoice of a subscription: its current period as if it closed now (usage so
  far, changes to prorate) and the next period's fees.
- A plan change: decided by the same code as the change (``SubscriptionService.plan_change``)
  and billed by the same step as its invoice (``SubscriptionBiller.outcome``): what was paid
  for the rest of the period back and the new plan's share of it, or, on another interval,
  the credit of the period cut short and the new plan's first period.

Both run the billing step itself (``SubscriptionBiller.outcome``, which computes and never
writes) and only read what it returns, so a preview cannot bill otherwise than billing.
"""

from __future__ import annotations

from collections.abc import Mapping

from billing.clock import to_wire
from billing.errors import DomainRuleViolation, InvalidRequest
from billing.invoicing.biller import SubscriptionBiller
from billing.invoicing.model import Invoice
from billing.scope import Scope
from billing.subscriptions import cycle
from billing.subscriptions.model import ChangePlan, Subscription
from billing.subscriptions.service import SubscriptionService
from billing.validation import parse


def upcoming(biller: SubscriptionBiller, scope: Scope, subscription: Subscription) -> Invoice:
    """The next step as billing will compute it, its usage cut at now while its period runs."""
    if cycle.due_at(subscription) is None:
        raise DomainRuleViolation("The subscription is canceled and fully invoiced.", code="no_upcoming_invoice")
    history = list(biller.history(scope, subscription.id))
    now = to_wire(biller.now(scope, subscription.test_clock))
    step = cycle.next_step(subscription, biller.plan(scope, subscription.plan), history)
    if step.kind == "renew" and subscription.current_period_end > now:
        step = cycle.Step("renew", subscription.current_period_end, subscription.current_period_start, now)
    return biller.outcome(scope, subscription, history, step).draft.model_copy(update={"id": "upcoming"})


def change_request(params: Mapping[str, str]) -> ChangePlan:
    """``?plan=`` of a change preview: the change to preview, made now."""
    plan = params.get("plan", "")
    if not plan:
        raise InvalidRequest("Name the plan to preview: ?plan=<code or id>.", code="parameter_missing", param="plan")
    return parse(ChangePlan, {"plan": plan, "when": "now"})


def plan_change(
    biller: SubscriptionBiller,
    subscriptions: SubscriptionService,
    scope: Scope,
    subscription: Subscription,
    request: ChangePlan,
) -> Invoice:
    """The change decided as ``change_plan`` decides it, then the step that bills it computed
    as billing will: the parts of it that the change makes (on the same interval, its
    proration; on another, the credit of the period it cuts short and the new period's fees)."""
    dry = biller.dry_run()  # a boundary the run has not reached yet is billed first, in memory
    dry.bill(scope, subscription.id, biller.now(scope, subscription.test_clock))
    current = dry.subscription(scope, subscription.id) or subscription
    change = subscriptions.plan_change(scope, current, request)
    history = [*dry.history(scope, subscription.id), change.history]
    changed = change.subscription
    billed = dry.outcome(scope, changed, history, cycle.next_step(changed, dry.plan(scope, changed.plan), history))
    restarted = bool(change.history.details.get("period_restarted"))
    lines = [
        line
        for part in billed.parts
        if (part.source in ("cut", "fees") if restarted else part.entry is change.history)
        for line in part.lines
    ]
    step = cycle.Step("close", change.history.at, None, None)
    draft = dry.draft(scope, current, step, lines, None)[0]
    return draft.model_copy(update={"id": "preview"})
