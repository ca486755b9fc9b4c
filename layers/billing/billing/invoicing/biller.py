"""Billing one subscription up to a moment: each due step of its cycle becomes a draft.

``bill(scope, subscription_id, as_of)`` applies the steps due by ``as_of`` in time order
(``billing.subscriptions.cycle``), each in one write together with its invoice, so it can
be repeated or resumed at any point. A step with nothing to charge writes no invoice.

Catalog lookups (plans, add-ons, meters, tax rates) are cached per container for
``LOOKUP_TTL_S``: a run reads each once, and a change reaches invoices drafted a few seconds
later.

Decisions:
- Usage of a period is rated on the plan in force at its end; fees of a period on the plan
  in force at its start; changes in between are prorated (``billing.invoicing.charges``).
- A trial is free: no fees, and no usage charges for the trial period.
- No fees are charged for a period that starts while the subscription is paused.
- A coupon discounts ``once`` the first invoice, ``repeating`` the next N invoices,
  ``forever`` every invoice, counting invoices of the subscription it discounted. The
  customer's own discounts (benefits) apply to every invoice after the coupon, each on the
  charges of its supplier or on all.
- Taxes: none for tax-exempt customers; the customer's explicit rates if it has some;
  otherwise the active rates of its address (country, and region where the rate has one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from billing.cache import TtlCache
from billing.catalog.add_ons import AddOn
from billing.catalog.coupons import Coupon
from billing.catalog.meters import Meter
from billing.catalog.plans import Plan
from billing.catalog.service import CatalogService
from billing.catalog.tax_rates import TaxRate as TaxRateEntity
from billing.clock import Clock, SystemClock, to_wire
from billing.customers import Customer
from billing.customers.service import CustomerRepository
from billing.errors import InvalidRequest, NotFound
from billing.events import DomainEvent
from billing.ids import new_id
from billing.invoicing import charges
from billing.invoicing.compose import Discount, TaxRate, compose, number_lines
from billing.invoicing.lines import Line, in_order
from billing.invoicing.model import BillingReason, Invoice, UsageBasis
from billing.invoicing.usage_lines import usage_lines
from billing.periods import shift
from billing.scope import Scope
from billing.subscriptions import cycle
from billing.subscriptions.lifecycle import next_status
from billing.subscriptions.model import HistoryEntry, Subscription
from billing.subscriptions.references import CatalogReferences, same_currency
from billing.tenant_settings import TenantSettings
from billing.test_clocks import ClockTimes, now_for
from billing.usage.aggregation import MeterTotal
from billing.usage.stamping import LOOKUP_TTL_S

REASONS: dict[str, BillingReason] = {
    "open": "subscription_create",
    "renew": "subscription_cycle",
    "close": "subscription_update",
}


class SubscriptionReader(Protocol):
    def get(self, scope: Scope, subscription_id: str) -> Subscription | None: ...

    def history(self, scope: Scope, subscription_id: str) -> Sequence[HistoryEntry]: ...


class StepWriter(Protocol):
    def apply_step(
        self,
        scope: Scope,
        subscription: Subscription,
        revision: int,
        invoice: Invoice | None,
        history: HistoryEntry | None,
        events: Sequence[DomainEvent],
    ) -> None:
        """Write the subscription (if still at ``revision``), its new invoice, history and
        events at once; ``Conflict`` if the subscription changed meanwhile."""


class UsageTotals(Protocol):
    def period_totals(
        self, scope: Scope, subscription_id: str, period: tuple[str, str], later: Sequence[str] = ()
    ) -> dict[str, MeterTotal]: ...

    def period_values(
        self, scope: Scope, subscription: Subscription, period_start: str, code: str
    ) -> list[Decimal]: ...


@dataclass(frozen=True)
class Priced:
    """Everything an invoice is rated from."""

    charges: list[Line]
    discounts: list[Discount]
    tax_rates: list[TaxRate]


class SubscriptionBiller:
    def __init__(
        self,
        subscriptions: SubscriptionReader,
        writer: StepWriter,
        customers: CustomerRepository,
        catalog: CatalogService,
        usage: UsageTotals,
        settings: Callable[[Scope], TenantSettings],
        clock: Clock | None = None,
        times: ClockTimes | None = None,
    ):
        self._subscriptions, self._writer, self._customers = subscriptions, writer, customers
        self._catalog, self._usage, self._settings = catalog, usage, settings
        self._clock = clock or SystemClock()
        self._times = times
        self._lookups: TtlCache[Any] = TtlCache(LOOKUP_TTL_S)

    def now(self, scope: Scope, clock_id: str | None) -> datetime:
        """The time of an object on ``clock_id`` (a test clock), or the wall clock's."""
        return now_for(self._clock, self._times, scope, clock_id)

    # ------------------------------------------------------------------ cycle
    def bill(self, scope: Scope, subscription_id: str, as_of: datetime) -> list[Invoice]:
        """Apply every step due by ``as_of``; the drafts written, in order."""
        written: list[Invoice] = []
        until = to_wire(as_of)
        while True:
            subscription = self._subscriptions.get(scope, subscription_id)
            if subscription is None:
                raise NotFound(f"No such subscription: '{subscription_id}'", param="subscription")
            due = cycle.due_at(subscription)
            if due is None or due > until:
                return written
            invoice = self.step(scope, subscription)
            if invoice:
                written.append(invoice)

    def step(self, scope: Scope, subscription: Subscription) -> Invoice | None:
        """Apply the next step of the subscription's cycle; its draft, if it charges anything."""
        history = list(self._subscriptions.history(scope, subscription.id))
        step = cycle.next_step(subscription, self.plan(scope, subscription.plan), history)
        lines, basis = self._closing_lines(scope, subscription, history, step)
        updated = subscription.model_copy(update={"invoiced_through": step.usage_end or subscription.invoiced_through})
        entry, events = None, []
        if step.kind == "renew":
            renewal = cycle.renew(subscription, step.at, lambda plan_id: self.plan(scope, plan_id))
            updated = renewal.subscription
            details = {"previous_plan": renewal.previous_plan} if renewal.previous_plan else {}
            entry = HistoryEntry(
                at=step.at, type=renewal.history_type, status=updated.status, plan=updated.plan, details=details
            )
            events.append(_event(renewal.event_type, scope, updated, step.at, **details))
        if updated.status != "canceled" and cycle.fees_due(updated):
            start = updated.current_period_start
            fee_plan = updated.plan if step.kind == "renew" else cycle.plan_at(updated, history, start)
            lines += self._fees(scope, updated, fee_plan, history)
            updated = updated.model_copy(update={"billed_through": updated.current_period_end})
        invoice = None
        if lines:
            invoice, updated = self._draft(scope, updated, step, lines, basis)
            events.append(_event("InvoiceCreated", scope, invoice, step.at))
        updated = updated.model_copy(update={"revision": subscription.revision + 1})
        self._writer.apply_step(scope, updated, subscription.revision, invoice, entry, events)
        return invoice

    def _closing_lines(
        self, scope: Scope, subscription: Subscription, history: list[HistoryEntry], step: cycle.Step
    ) -> tuple[list[Line], UsageBasis | None]:
        """Usage of the period the step closes, and the prorations of changes made during it."""
        start, end = step.usage_start, step.usage_end
        if not (start and end):
            return [], None
        lines: list[Line] = []
        basis = None
        if not self._trial(subscription, start, end):
            later = [subscription.current_period_start] if subscription.current_period_start > start else []
            plan_id = cycle.plan_at(subscription, history, _before(end))
            basis = UsageBasis(plan=plan_id, period_start=start, period_end=end, later=later)
            lines += self.usage_lines(scope, subscription, basis)
        billed_until = subscription.billed_through or ""
        if billed_until > start and cycle.status_at(subscription, history, start) not in ("paused", "trialing"):
            lines += self._prorations(scope, subscription, history, (start, end, billed_until), step.kind == "close")
        return lines, basis

    def _prorations(
        self,
        scope: Scope,
        subscription: Subscription,
        history: list[HistoryEntry],
        span: tuple[str, str, str],
        cut_short: bool,
    ) -> list[Line]:
        """Changes within ``[start, cut)`` to fees billed in advance for ``[start, end)``, and a
        credit for ``[cut, end)`` when the period was cut short (cancellation, interval change)."""
        start, cut, end = span
        lines = charges.proration_lines(
            history, span, lambda plan_id: self.plan(scope, plan_id), lambda code: self.add_on(scope, code)
        )
        if cut_short and cut < end:
            plan = self.plan(scope, cycle.plan_at(subscription, history, _before(cut)))
            add_ons = [
                (self.add_on(scope, i["add_on"]), int(i["quantity"]))
                for i in cycle.add_ons_at(subscription, history, _before(cut))
            ]
            lines += charges.cut_credit(plan, [(a, q) for a, q in add_ons if a.interval is not None], cut, start, end)
        return lines

    # --------------------------------------------------------------- previews
    def preview(self, scope: Scope, subscription: Subscription) -> Invoice:
        """The next invoice of the subscription as if its current period closed now: its
        usage so far, the changes to prorate, and the next period's fees. Nothing is written."""
        history = list(self._subscriptions.history(scope, subscription.id))
        now = to_wire(self.now(scope, subscription.test_clock))
        step = cycle.next_step(subscription, self.plan(scope, subscription.plan), history)
        if step.kind == "renew" and subscription.current_period_end > now:
            step = cycle.Step("renew", subscription.current_period_end, subscription.current_period_start, now)
        lines, basis = self._closing_lines(scope, subscription, history, step)
        updated = subscription
        if step.kind == "renew":
            updated = cycle.renew(
                subscription, subscription.current_period_end, lambda p: self.plan(scope, p)
            ).subscription
        if updated.status != "canceled" and (cycle.fees_due(updated) or step.kind == "renew"):
            start = updated.current_period_start
            fee_plan = updated.plan if step.kind == "renew" else cycle.plan_at(updated, history, start)
            lines += self._fees(scope, updated, fee_plan, history)
        return self._draft(scope, updated, step, lines, basis)[0].model_copy(update={"id": "upcoming"})

    def change_preview(self, scope: Scope, subscription: Subscription, plan_ref: str) -> Invoice:
        """What changing to ``plan_ref`` now would bill: the unused share of the current fee
        back and the new plan's share (the same period), or, on another interval, the credit
        and the new plan's first full period. Nothing is written."""
        if not plan_ref:
            raise InvalidRequest(
                "Name the plan to preview: ?plan=<code or id>.", code="parameter_missing", param="plan"
            )
        new = CatalogReferences(self._catalog).plan(scope, plan_ref, "plan")  # checked as a change checks it
        next_status(subscription.status, "change_plan")
        same_currency(subscription.currency, new.currency, f"Plan '{new.code}'", "plan")
        now = to_wire(self.now(scope, subscription.test_clock))
        start, end = subscription.current_period_start, subscription.current_period_end
        lines: list[Line] = []
        paid = (subscription.billed_through or "") >= end and subscription.status not in ("trialing", "paused")
        old = self.plan(scope, subscription.plan)
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
        return self._draft(scope, subscription, step, [line for line in lines if line.amount], None)[0].model_copy(
            update={"id": "preview"}
        )

    # ------------------------------------------------------------------ lines
    def usage_lines(self, scope: Scope, subscription: Subscription, basis: UsageBasis) -> list[Line]:
        plan = self.plan(scope, basis.plan)
        period = (basis.period_start, basis.period_end)
        totals = self._usage.period_totals(scope, subscription.id, period, basis.later)
        names = {}
        for charge in plan.charges:
            code = charge["meter"]
            meter = self._lookups.get((scope, "meter", code), lambda: self._catalog.find(scope, "meter", code))  # noqa: B023
            names[code] = meter.name if isinstance(meter, Meter) else code

        def values_of(code: str) -> list[Decimal]:
            return self._usage.period_values(scope, subscription, basis.period_start, code)

        return usage_lines(plan, totals, names, period, values_of)

    def _fees(self, scope: Scope, subscription: Subscription, plan_id: str, history: list[HistoryEntry]) -> list[Line]:
        """Fees of the current period, billed in advance, as they stood at its start."""
        if subscription.status in ("paused", "trialing"):
            return []
        start, end = subscription.current_period_start, subscription.current_period_end
        recurring, one_offs = [], []
        for item in cycle.add_ons_at(subscription, history, start):
            add_on = self.add_on(scope, item["add_on"])
            if add_on.interval is not None:
                recurring.append((add_on, int(item["quantity"])))
        for item in subscription.add_ons:
            add_on = self.add_on(scope, item["add_on"])
            if add_on.interval is None and not item.get("invoiced"):
                one_offs.append((add_on, int(item["quantity"])))
        return charges.fee_lines(self.plan(scope, plan_id), recurring, start, end, one_offs)

    # ----------------------------------------------------------------- drafts
    def _draft(
        self, scope: Scope, subscription: Subscription, step: cycle.Step, lines: list[Line], usage: UsageBasis | None
    ) -> tuple[Invoice, Subscription]:
        customer = self.customer(scope, subscription.customer)
        coupon, uses = self._coupon(scope, subscription)
        benefits = [
            Discount(
                f"benefit:{d['name']}",
                f"{d['name']} ({d['percent_off']}% off)",
                d["percent_off"],
                None,
                d.get("supplier"),
            )
            for d in customer.discounts
        ]
        priced = Priced(lines, ([coupon] if coupon else []) + benefits, self.tax_rates(scope, customer))
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
            finalize_at=to_wire(datetime.fromisoformat(step.at) + settings.grace),
            customer_details=_customer_details(customer),
            discounts=[vars(d) for d in priced.discounts],
            tax_rates=[vars(t) for t in priced.tax_rates],
            usage=usage,
            test_clock=subscription.test_clock,
        )
        invoice = apply_lines(invoice, in_order(priced.charges))
        add_ons = [
            {**item, "invoiced": True} if self.add_on(scope, item["add_on"]).interval is None else item
            for item in subscription.add_ons
        ]
        return invoice, subscription.model_copy(update={"coupon_uses": uses, "add_ons": add_ons})

    def _coupon(self, scope: Scope, subscription: Subscription) -> tuple[Discount | None, int]:
        uses = subscription.coupon_uses
        if not subscription.coupon:
            return None, uses
        coupon = self._catalog.find(scope, "coupon", subscription.coupon)
        if not isinstance(coupon, Coupon):
            return None, uses
        limit = {"once": 1, "repeating": coupon.duration_in_periods, "forever": None}[coupon.duration]
        if limit is not None and uses >= limit:
            return None, uses
        what = f"{coupon.percent_off}% off" if coupon.percent_off else "amount off"
        discount = Discount(
            coupon.code, f"{coupon.name or coupon.code} ({what})", coupon.percent_off, coupon.amount_off
        )
        return discount, uses + 1

    def tax_rates(self, scope: Scope, customer: Customer) -> list[TaxRate]:
        if customer.tax_exempt:
            return []
        rates: list[TaxRateEntity] = []
        if customer.tax_rates:
            found = (self._catalog.find_by_id(scope, "tax_rate", i) for i in customer.tax_rates)
            rates = [r for r in found if isinstance(r, TaxRateEntity)]
        else:
            address = customer.address or {}
            every = self._lookups.get((scope, "tax_rates"), lambda: self._all_tax_rates(scope)) or []
            for rate in every:
                if rate.country == address.get("country") and rate.region in (None, address.get("region")):
                    rates.append(rate)
        return [TaxRate(r.id, r.name, r.percent, r.inclusive) for r in rates if r.active]

    def _all_tax_rates(self, scope: Scope) -> list[TaxRateEntity]:
        found: list[TaxRateEntity] = []
        after: str | None = None
        while True:
            params = {"limit": "100", **({"starting_after": after} if after else {})}
            page = self._catalog.list(scope, "tax_rate", params)
            found += [r for r in page.data if isinstance(r, TaxRateEntity)]
            if not page.has_more or not page.data:
                return found
            after = page.data[-1].id

    # ---------------------------------------------------------------- lookups
    def subscription(self, scope: Scope, subscription_id: str) -> Subscription | None:
        return self._subscriptions.get(scope, subscription_id)

    def plan(self, scope: Scope, plan_id: str) -> Plan:
        """A plan version (its prices never change; its name may lag ``LOOKUP_TTL_S``)."""
        plan = self._lookups.get((scope, "plan", plan_id), lambda: self._catalog.get(scope, "plan", plan_id))
        assert isinstance(plan, Plan)
        return plan

    def add_on(self, scope: Scope, code: str) -> AddOn:
        add_on = self._lookups.get((scope, "add_on", code), lambda: self._catalog.find(scope, "add_on", code))
        if not isinstance(add_on, AddOn):
            raise NotFound(f"No such add-on: '{code}'", param="add_on")
        return add_on

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
    rates = [TaxRate(**t) for t in invoice.tax_rates]
    lines, totals = compose(charge_lines, discounts, rates)
    due = max(totals.total - invoice.amount_paid - invoice.amount_credited, 0)
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


def _before(moment: str) -> str:
    return to_wire(datetime.fromisoformat(moment) - timedelta(seconds=1))


def _customer_details(customer: Customer) -> dict[str, Any]:
    details = {
        "name": customer.name,
        "email": customer.email,
        "address": customer.address,
        "external_id": customer.external_id,
    }
    return {k: v for k, v in details.items() if v}


def _event(kind: str, scope: Scope, obj: Subscription | Invoice, at: str, **extra: Any) -> DomainEvent:
    data = obj.to_public() if isinstance(obj, Invoice) else obj.model_dump(mode="json")
    return DomainEvent(type=kind, scope=scope, occurred_at=datetime.fromisoformat(at), data={"object": data, **extra})
