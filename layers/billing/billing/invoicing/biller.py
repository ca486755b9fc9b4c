"""Billing one subscription up to a moment: each due step of its cycle becomes a draft.

``bill(scope, subscription_id, as_of)`` applies the steps due by ``as_of`` in time order
(``billing.subscriptions.cycle``), each in one write together with its invoice, so it can
be repeated or resumed at any point. A step with nothing to charge writes no invoice, unless
it closes a usage period of a plan with usage charges: its draft is kept, even empty, so
that usage arriving within the grace period is billed when the draft is finalized (an
invoice of 0 when none came, paid at once, as Stripe does for metered prices).

Decisions:
- Usage of a period is rated on the plan in force at its end; fees of a period on the plan
  in force at its start; changes in between are prorated (``billing.invoicing.fees``).
- A trial is free: no fees, and no usage charges for the trial period.
- No fees are charged for a period that starts while the subscription is paused.
- Discounts and taxes: ``billing.invoicing.adjustments``.
- One-off charges go on the next invoice of a step that is not a trial's: one-off add-ons of
  the subscription, and the customer's pending invoice items in the subscription's currency
  (``billing.collections.invoice_items``), which the step's write marks as billed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, Literal, Protocol

from billing.catalog.add_ons import AddOn
from billing.catalog.lookups import CatalogLookups
from billing.catalog.plans import Plan
from billing.clock import Clock, SystemClock, to_wire
from billing.collections.invoice_items import InvoiceItem, billable
from billing.customers import Customer
from billing.customers.service import CustomerRepository
from billing.errors import NotFound
from billing.events import DomainEvent
from billing.ids import new_id
from billing.invoicing import adjustments, fees, prorations
from billing.invoicing.compose import Discount, compose, number_lines
from billing.invoicing.lines import Line, in_order
from billing.invoicing.model import BillingReason, Invoice, UsageBasis, invoice_event
from billing.invoicing.usage_lines import usage_lines
from billing.periods import before, full_period_start, instant
from billing.scope import Scope
from billing.subscriptions import cycle
from billing.subscriptions.model import HistoryEntry, Subscription, SubscriptionAddOn
from billing.tenant_settings import TenantSettings
from billing.testclocks import ClockTimes, now_for
from billing.usage.totals import MeterTotal

REASONS: dict[str, BillingReason] = {
    "open": "subscription_create",
    "renew": "subscription_cycle",
    "close": "subscription_update",
}


class SubscriptionReader(Protocol):
    def get(self, scope: Scope, subscription_id: str) -> Subscription | None: ...

    def history(self, scope: Scope, subscription_id: str) -> Sequence[HistoryEntry]: ...


class StepWriter(Protocol):
    def apply_step(self, scope: Scope, outcome: Outcome, revision: int) -> Invoice | None:
        """Write the step's subscription (if still at ``revision``), its new invoice, history
        and events at once; ``Conflict`` if the subscription changed meanwhile. The invoice as
        written (finalized already when it was due at once: ``billing.invoicing.finalization``)."""

    def of_subscription(self, scope: Scope, subscription_id: str) -> Sequence[Invoice]:
        """Every invoice of the subscription (what prorations credit is read from them)."""


class PendingItems(Protocol):
    def pending(self, scope: Scope, customer_id: str) -> Sequence[InvoiceItem]:
        """The customer's invoice items no invoice billed yet."""


class UsageTotals(Protocol):
    def period_totals(
        self, scope: Scope, subscription_id: str, period: tuple[str, str], later: Sequence[str] = ()
    ) -> dict[str, MeterTotal]: ...

    def period_values(
        self, scope: Scope, subscription: Subscription, period_start: str, code: str
    ) -> list[Decimal]: ...


PartSource = Literal["usage", "change", "cut", "unbilled", "fees", "one_offs"]


@dataclass(frozen=True)
class Part:
    """Lines of a step by what bills them: the usage of the closed period, the proration of
    one ``change`` (its history ``entry``), the credit of a period ``cut`` short, fees of a
    closed span no invoice billed in advance (``unbilled``), the current period's ``fees``, or
    one-off add-ons. A preview shows the parts that concern it."""

    source: PartSource
    lines: list[Line]
    entry: HistoryEntry | None = None


@dataclass(frozen=True)
class Outcome:
    """One step computed: the subscription as the step leaves it, whether its draft is
    ``kept`` (written: it charges something, or its usage may still come), its history entry
    and events, its lines by part, and its draft. A draft that is not kept is only made when
    asked for (a preview shows it; billing does not read the customer, discounts and taxes
    for a step that charges nothing)."""

    subscription: Subscription
    kept: bool
    history: HistoryEntry | None
    events: list[DomainEvent]
    parts: list[Part]
    drafted: Callable[[], Invoice] = field(repr=False, compare=False)

    @cached_property
    def draft(self) -> Invoice:
        return self.drafted()

    @property
    def invoice(self) -> Invoice | None:
        return self.draft if self.kept else None


class SubscriptionBiller:
    def __init__(
        self,
        subscriptions: SubscriptionReader,
        writer: StepWriter,
        customers: CustomerRepository,
        catalog: CatalogLookups,
        usage: UsageTotals,
        settings: Callable[[Scope], TenantSettings],
        clock: Clock | None = None,
        times: ClockTimes | None = None,
        items: PendingItems | None = None,
    ):
        self._subscriptions, self._writer, self._customers = subscriptions, writer, customers
        self._items = items
        self._usage, self._settings = usage, settings
        self._clock = clock or SystemClock()
        self._times = times
        self.lookups = catalog

    def dry_run(self) -> SubscriptionBiller:
        """This biller over an in-memory copy of its stores (``billing.invoicing.dry_run``):
        the real computation for previews, nothing written."""
        from billing.invoicing.dry_run import DryRun

        other = copy.copy(self)
        dry = DryRun(self._subscriptions, self._writer, self._items)
        other._subscriptions = other._writer = dry
        other._items = dry if self._items else None
        return other

    def now(self, scope: Scope, clock_id: str | None) -> datetime:
        """The time of an object on ``clock_id`` (a test clock), or the wall clock's."""
        return now_for(self._clock, self._times, scope, clock_id)

    # ------------------------------------------------------------------ cycle
    def bill(
        self, scope: Scope, subscription_id: str, as_of: datetime, read: Subscription | None = None
    ) -> list[Invoice]:
        """Apply every step due by ``as_of``, from the subscription as the caller ``read`` it
        (read here otherwise); the invoices written, in order. Each step goes on from the
        subscription the one before wrote: a change made meanwhile fails the write (``Conflict``)."""
        written: list[Invoice] = []
        until = to_wire(as_of)
        subscription = read or self._subscriptions.get(scope, subscription_id)
        if subscription is None:
            raise NotFound(f"No such subscription: '{subscription_id}'", param="subscription")
        while (due := cycle.due_at(subscription)) is not None and due <= until:
            history = list(self._subscriptions.history(scope, subscription.id))
            step = cycle.next_step(subscription, self.plan(scope, subscription.plan), history)
            done = self.outcome(scope, subscription, history, step)
            invoice = self._writer.apply_step(scope, done, subscription.revision)
            if invoice:
                written.append(invoice)
            subscription = done.subscription
        return written

    def outcome(
        self, scope: Scope, subscription: Subscription, history: list[HistoryEntry], step: cycle.Step
    ) -> Outcome:
        """What ``step`` bills and how it leaves the subscription, computed and not written:
        billing writes it (``step``), previews read it (``billing.invoicing.previews``)."""
        parts, basis = self.closing_parts(scope, subscription, history, step)
        updated = subscription.model_copy(update={"invoiced_through": step.usage_end or subscription.invoiced_through})
        if step.kind == "close" and step.usage_start and step.usage_end:
            # fees up to its end are billed now (in arrears) or were; beyond it they were credited
            span = (step.usage_start, step.usage_end)
            parts.append(Part("unbilled", self.unbilled_fees(scope, subscription, history, span)))
            updated = updated.model_copy(update={"billed_through": step.usage_end})
        entry, events, fee_plan = None, [], None
        if step.kind == "renew":
            renewal = cycle.renew(subscription, step.at, lambda plan_id: self.plan(scope, plan_id))
            updated = renewal.subscription
            details = {"previous_plan": renewal.previous_plan} if renewal.previous_plan else {}
            fee_plan = updated.plan if renewal.previous_plan else None  # moved at the boundary
            entry = HistoryEntry(
                at=step.at, type=renewal.history_type, status=updated.status, plan=updated.plan, details=details
            )
            events.append(_event(renewal.event_type, scope, updated, step.at, **details))
        if updated.status != "canceled" and cycle.fees_due(updated):
            parts.append(Part("fees", self.fees(scope, updated, history, fee_plan)))
            updated = updated.model_copy(update={"billed_through": updated.current_period_end})
        parts.append(Part("one_offs", self.one_offs(scope, updated)))
        lines = [line for part in parts for line in part.lines]
        kept = bool(lines) or bool(basis and self.plan(scope, basis.plan).charges)  # late usage may still come
        if kept:
            draft, updated = self.draft(scope, updated, step, lines, basis)
            events.append(invoice_event("InvoiceCreated", scope, draft, step.at))
            drafted: Callable[[], Invoice] = lambda: draft  # noqa: E731
        else:
            unchanged = updated
            drafted = lambda: self.draft(scope, unchanged, step, lines, basis)[0]  # noqa: E731
        updated = updated.model_copy(update={"revision": subscription.revision + 1})
        return Outcome(updated, kept, entry, events, parts, drafted)

    def closing_parts(
        self, scope: Scope, subscription: Subscription, history: list[HistoryEntry], step: cycle.Step
    ) -> tuple[list[Part], UsageBasis | None]:
        """Usage of the period the step closes, and the prorations of changes made during it."""
        start, end = step.usage_start, step.usage_end
        if not (start and end):
            return [], None
        parts: list[Part] = []
        basis = None
        if not self._trial(subscription, start, end):
            later = [subscription.current_period_start] if subscription.current_period_start > start else []
            plan_id = cycle.plan_at(subscription, history, before(end))
            basis = UsageBasis(plan=plan_id, period_start=start, period_end=end, later=later)
            parts.append(Part("usage", self.usage_lines(scope, subscription, basis)))
        span = (start, end, subscription.billed_through or "")
        parts += self.prorated(scope, subscription, history, span, step.kind == "close")
        return parts, basis

    def prorated(
        self,
        scope: Scope,
        subscription: Subscription,
        history: list[HistoryEntry],
        span: tuple[str, str, str],
        cut_short: bool,
    ) -> list[Part]:
        """Each change within ``[start, cut)`` to the fees billed in advance up to ``end``,
        with what it bills, then the credit from ``cut`` on when the period was cut short (a
        cancellation, an interval change). Nothing when no fees were billed for it."""
        start, cut, end = span
        cut_short = cut_short and cut < end
        if end <= start or cycle.fees_waived(subscription, history, start):
            return []
        if not cut_short and not any(start < entry.at < cut and entry.type in prorations.CHANGES for entry in history):
            return []  # nothing to prorate: the subscription's invoices are not read
        catalog = self.prorating(scope)
        holdings = self.holdings(scope, subscription)
        full_start = self.full_start(scope, subscription, history, (start, end))
        changes = prorations.changes(history, span, full_start, holdings, catalog)
        found = [Part("change", lines, entry) for entry, lines in changes]
        if cut_short:
            made = prorations.held((line for part in found for line in part.lines), catalog)
            found.append(Part("cut", prorations.cut([*holdings, *made], cut, catalog)))
        return found

    def prorating(self, scope: Scope) -> prorations.Catalog:
        return prorations.Catalog(
            plan=lambda plan_id: self.plan(scope, plan_id), add_on=lambda c: self.add_on(scope, c)
        )

    def holdings(self, scope: Scope, subscription: Subscription) -> list[prorations.Held]:
        """What the subscription's invoices still charge for its recurring fees."""
        return prorations.billed(self._writer.of_subscription(scope, subscription.id), self.prorating(scope))

    def full_start(
        self, scope: Scope, subscription: Subscription, history: list[HistoryEntry], period: tuple[str, str]
    ) -> str:
        """Where a full period ending with ``period`` starts (before it, for a stub)."""
        plan = self.plan(scope, cycle.plan_at(subscription, history, period[0]))
        return full_period_start(plan.interval, plan.interval_count, *period)

    def unbilled_fees(
        self, scope: Scope, subscription: Subscription, history: list[HistoryEntry], span: tuple[str, str]
    ) -> list[Line]:
        """Fees of a closed span no invoice billed in advance (a backdated period, the time
        between a period's end and a restart the run had not rolled yet), in arrears, prorated."""
        start, end = span
        if (subscription.billed_through or "") >= end or cycle.fees_waived(subscription, history, start):
            return []
        plan = self.plan(scope, cycle.plan_at(subscription, history, start))
        add_ons = self._recurring(scope, cycle.add_ons_at(subscription, history, start))
        return fees.fee_lines(plan, add_ons, max(start, subscription.billed_through or start), end, [])

    def fees(
        self, scope: Scope, subscription: Subscription, history: list[HistoryEntry], plan_id: str | None = None
    ) -> list[Line]:
        """Fees of the current period, billed in advance, as they stood at its start (on
        ``plan_id`` when a renewal moved the subscription at that moment)."""
        start, end = subscription.current_period_start, subscription.current_period_end
        if cycle.fees_waived(subscription, history, start) or subscription.status == "trialing":
            return []
        plan = self.plan(scope, plan_id or cycle.plan_at(subscription, history, start))
        recurring = self._recurring(scope, cycle.add_ons_at(subscription, history, start))
        return fees.fee_lines(plan, recurring, start, end, [])

    def one_offs(self, scope: Scope, subscription: Subscription) -> list[Line]:
        """One-off add-ons and the customer's invoice items not billed yet: on the next invoice
        after they were added (after the trial, if they were added during it)."""
        if subscription.status == "trialing":
            return []
        items = [item for item in subscription.add_ons if not item.invoiced]
        once = [(self.add_on(scope, item.add_on), item.quantity) for item in items]
        start, end = subscription.current_period_start, subscription.current_period_end
        lines = fees.fee_lines(None, [], start, end, [(a, q) for a, q in once if a.interval is None])
        pending = list(self._items.pending(scope, subscription.customer)) if self._items else []
        return lines + [item.line((start, end)) for item in billable(pending, subscription.currency)]

    def _recurring(self, scope: Scope, items: list[SubscriptionAddOn]) -> list[tuple[AddOn, int]]:
        found = [(self.add_on(scope, item.add_on), item.quantity) for item in items]
        return [(add_on, quantity) for add_on, quantity in found if add_on.interval is not None]

    # ------------------------------------------------------------------ lines
    def usage_lines(self, scope: Scope, subscription: Subscription, basis: UsageBasis) -> list[Line]:
        plan = self.plan(scope, basis.plan)
        period = (basis.period_start, basis.period_end)
        totals = self._usage.period_totals(scope, subscription.id, period, basis.later)
        names = {c.meter: meter.name for c in plan.charges if (meter := self.lookups.meter(scope, c.meter))}

        def values_of(code: str) -> list[Decimal]:
            return self._usage.period_values(scope, subscription, basis.period_start, code)

        return usage_lines(plan, totals, names, period, values_of)

    # ----------------------------------------------------------------- drafts
    def draft(
        self, scope: Scope, subscription: Subscription, step: cycle.Step, lines: list[Line], usage: UsageBasis | None
    ) -> tuple[Invoice, Subscription]:
        customer = self.customer(scope, subscription.customer)
        found, coupon = adjustments.discounts(self.lookups, scope, subscription, customer)
        rates = adjustments.tax_rates(self.lookups, scope, customer)
        now = self.now(scope, subscription.test_clock)
        invoice_id = new_id("inv", int(self._clock.now().timestamp() * 1000))
        settings = self._settings(scope)
        period = (
            step.usage_start or subscription.current_period_start,
            step.usage_end or subscription.current_period_end,
        )
        invoice = Invoice(
            id=invoice_id,
            livemode=scope.livemode,
            customer=customer.id,
            subscription=subscription.id,
            billing_reason=REASONS[step.kind] if subscription.status != "canceled" else "subscription_cancel",
            currency=subscription.currency,
            period_start=period[0],
            period_end=period[1],
            created_at=to_wire(now),
            finalize_at=to_wire(instant(step.at) + settings.grace),
            customer_details=customer_details(customer),
            discounts=[vars(d) for d in found],
            tax_rates=rates,
            usage=usage,
            test_clock=subscription.test_clock,
        )
        invoice = apply_lines(invoice, in_order(lines))
        uses = subscription.coupon_uses
        if coupon and any(line.discount == coupon.id and line.amount for line in invoice.lines):
            uses += 1
        elif coupon:  # nothing to discount: the coupon waits for an invoice it takes something off
            kept = [vars(d) for d in found if d is not coupon]
            invoice = apply_lines(invoice.model_copy(update={"discounts": kept}), in_order(lines))
        billed = {line.add_on for line in lines if line.type == "add_on"}
        add_ons = [
            item.model_copy(update={"invoiced": True})
            if item.add_on in billed and self.add_on(scope, item.add_on).interval is None
            else item
            for item in subscription.add_ons
        ]
        return invoice, subscription.model_copy(update={"coupon_uses": uses, "add_ons": add_ons})

    # ---------------------------------------------------------------- lookups
    def subscription(self, scope: Scope, subscription_id: str) -> Subscription | None:
        return self._subscriptions.get(scope, subscription_id)

    def history(self, scope: Scope, subscription_id: str) -> Sequence[HistoryEntry]:
        return self._subscriptions.history(scope, subscription_id)

    def plan(self, scope: Scope, plan_id: str) -> Plan:
        return self.lookups.plan(scope, plan_id)

    def add_on(self, scope: Scope, code: str) -> AddOn:
        return self.lookups.add_on(scope, code)

    def customer(self, scope: Scope, customer_id: str) -> Customer:
        customer = self._customers.get(scope, customer_id)
        if customer is None:
            raise NotFound(f"No such customer: '{customer_id}'", param="customer")
        return customer

    def _trial(self, subscription: Subscription, start: str, end: str) -> bool:
        return subscription.trial_end is not None and start < subscription.trial_end and end <= subscription.trial_end


def apply_lines(invoice: Invoice, charge_lines: Sequence[Line]) -> Invoice:
    """The invoice with ``charge_lines`` composed with its discounts and taxes, and its totals."""
    discounts = [Discount(**d) for d in invoice.discounts]
    lines, totals = compose(charge_lines, discounts, invoice.tax_rates)
    due = max(totals.total - invoice.amount_paid - invoice.amount_credited - invoice.applied_balance, 0)
    return invoice.model_copy(
        update={
            "lines": number_lines(lines, invoice.id),
            "subtotal": totals.subtotal,
            "discount_total": totals.discount_total,
            "tax_total": totals.tax_total,
            "total": totals.total,
            "amount_due": due,
        }
    )


def customer_details(customer: Customer) -> dict[str, Any]:
    details = {
        "name": customer.name,
        "email": customer.email,
        "address": customer.address,
        "external_id": customer.external_id,
    }
    return {k: v for k, v in details.items() if v}


def _event(kind: str, scope: Scope, subscription: Subscription, at: str, **extra: Any) -> DomainEvent:
    data = {"object": subscription.model_dump(mode="json"), **extra}
    return DomainEvent(type=kind, scope=scope, occurred_at=instant(at), data=data)
