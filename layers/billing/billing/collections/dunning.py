"""The dunning run: what the daily job, ``POST /v1/dunning_runs``, ``billing dunning run`` and
advancing a test clock do to the open invoices of a scope as of a date.

For each open invoice with a due date (as of the customer's clock's date, ``as_of``), in one
write each, with the invoice's ``DunningRecord`` (the steps done, the interest charged) at its
revision, so a retried or concurrent run does nothing twice:

- every step of the policy fallen due and not done (``billing.collections.steps``), in day
  order: ``reminder`` (``InvoiceReminder``), ``retry_payment`` (``InvoicePaymentRetried``:
  the off-session charger tries the saved card again), ``late_fee`` (a ``late_fee`` item for
  the invoice, pending or on an invoice of its own as the policy says; ``LateFeeCharged``),
  ``suspend`` (the customer's access is suspended for debt: ``CustomerSuspended``),
  ``final_notice`` (``InvoiceFinalNotice`` with the debt and a debtor notice PDF),
  ``mark_uncollectible`` (the invoice leaves receivables through a ``write_off`` entry:
  ``InvoiceMarkedUncollectible``; dunning ends there);
- then penalty interest: each day since the last run accrues on the invoice's principal of
  the day of the run (exact, added to what accrued before, capped as a whole); what that sum,
  rounded once (half to even), exceeds what was charged for the invoice goes on one pending
  ``penalty_interest`` item the run keeps up to date day by day; once an invoice bills that
  item, the next day's interest starts another. The amounts charged for an invoice therefore
  add up to its accrued interest rounded once. An item is only ever raised: a payment that
  lowers the principal lowers what accrues from then on, never what was charged. (A day the
  run missed accrues on the principal of the day it catches up.)

A day the run missed is caught up by the next one (the steps fallen due meanwhile, the
interest to date); a second run on the same day finds nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, Field

from billing import ledger
from billing.clock import Clock, SystemClock, to_wire
from billing.collections.debt import Debt, due_date_of, unpaid
from billing.collections.interest import accrued_between, capped, days_overdue
from billing.collections.invoice_items import ITEM_PREFIX, InvoiceItem, Kind
from billing.collections.policy import DunningPolicy
from billing.collections.steps import DueStep, due_steps
from billing.customers.model import Customer, Suspension
from billing.decimals import to_minor
from billing.errors import Conflict, InvalidRequest
from billing.events import DomainEvent
from billing.ids import new_id
from billing.invoicing.finalization import Build
from billing.invoicing.model import Invoice
from billing.ledger import JournalEntry, entry
from billing.scope import Scope
from billing.validation import Input

SUSPENDED_FOR_DEBT = "suspended_for_debt"
RETRIES = 3


@dataclass(frozen=True)
class DunningRecord:
    """What dunning did for one invoice: the keys of the steps done, the interest charged for
    it in all, the pending item that holds the interest not billed yet, and the interest
    accrued (exact, before the cap) through day ``accrued_days`` of delay on principals up to
    ``top_principal``."""

    invoice: str
    done: frozenset[str] = frozenset()
    interest_charged: int = 0
    interest_item: str | None = None
    accrued: Fraction = Fraction(0)
    accrued_days: int = 0
    top_principal: int = 0
    revision: int = 0


@dataclass(frozen=True)
class ItemChange:
    """A pending interest item raised from ``before`` to ``item.amount``."""

    item: InvoiceItem
    before: int


@dataclass(frozen=True)
class DunningWrite:
    """One step's (or the interest's) effects on ``source`` (the invoice as read), written with
    ``record`` (at ``revision``) in one transaction that holds only while ``source`` is still
    open at its revision: a payment or a bill that changed it meanwhile fails the write, and
    the run reads it again (nothing is charged or suspended for an invoice paid meanwhile)."""

    source: Invoice
    record: DunningRecord
    revision: int
    events: tuple[DomainEvent, ...] = ()
    new_item: InvoiceItem | None = None
    own_invoice: Build | None = None  # how the invoice billing ``new_item`` at once is finalized
    raised_item: ItemChange | None = None
    customer: Customer | None = None  # suspended as ``suspension`` says
    suspension: Suspension | None = None
    invoice: Invoice | None = None  # the invoice as it becomes (written off)
    journal: JournalEntry | None = None


class DunningStore(Protocol):
    def records(self, scope: Scope, invoice_ids: Sequence[str]) -> dict[str, DunningRecord]:
        """The records of these invoices (absent: nothing done yet)."""

    def write(self, scope: Scope, write: DunningWrite) -> None:
        """Write it all or nothing; ``Conflict`` when the record, the item, the customer or the
        invoice changed since read."""


class OpenInvoices(Protocol):
    shards: int  # how many parts the real-time open invoices of a scope are spread over

    def due_by(
        self, scope: Scope, until: date, clock: str | None, shard: int | None = None
    ) -> Iterable[Sequence[Invoice]]:
        """The open invoices due by ``until`` (the real-time ones, only those of ``shard`` if
        given, or those of a test clock), page by page: a run holds one page at a time."""


class RunQueue(Protocol):
    def send(self, bodies: Sequence[dict[str, Any]]) -> None: ...


@dataclass(frozen=True)
class ShardRun:
    """One message of the daily run: one shard of one scope's open invoices, as of a day."""

    scope: Scope
    as_of: date
    shard: int

    def body(self) -> dict[str, Any]:
        return {"tenant_id": self.scope.tenant_id, "livemode": self.scope.livemode,
                "as_of": self.as_of.isoformat(), "shard": self.shard}  # fmt: skip

    @classmethod
    def of(cls, body: dict[str, Any]) -> ShardRun:
        scope = Scope(str(body["tenant_id"]), livemode=bool(body["livemode"]))
        return cls(scope, date.fromisoformat(body["as_of"]), int(body["shard"]))


@dataclass(frozen=True)
class Collaborators:
    """What a run reads and builds besides its own store."""

    policy: Callable[[Scope], DunningPolicy]
    customer_of: Callable[[Scope, str], Customer | None]
    invoice_of: Callable[[Scope, str], Invoice | None]
    item_of: Callable[[Scope, str], InvoiceItem | None]
    debt_of: Callable[[Scope, str, date], Debt]  # as of a day
    bill_at_once: Callable[[Scope, Customer, InvoiceItem, str], tuple[InvoiceItem, Build, DomainEvent]]
    notice: Callable[[Scope, Invoice, Customer, Debt, date], tuple[str | None, str | None]]  # PDF key, pay url


def _day(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a date, YYYY-MM-DD") from None
    return value


Day = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), AfterValidator(_day)]


class DunningRunRequest(Input):
    """``POST /v1/dunning_runs``: the date the run is as of (a UTC date, ``YYYY-MM-DD``; today by
    default). Live mode never runs ahead of today; test mode may, to rehearse a policy."""

    as_of: Day | None = None


@dataclass
class RunSummary:
    as_of: date
    invoices: int = 0
    steps: dict[str, int] = field(default_factory=dict)
    interest_charged: dict[str, int] = field(default_factory=dict)  # per currency
    failed: list[str] = field(default_factory=list)  # invoices that kept changing: left for the next run

    def to_public(self, livemode: bool) -> dict[str, Any]:
        return {
            "object": "dunning_run", "livemode": livemode, "as_of": self.as_of.isoformat(), "invoices": self.invoices,
            "steps": dict(self.steps), "interest_charged": dict(self.interest_charged), "failed": list(self.failed),
        }  # fmt: skip


@dataclass(frozen=True)
class _Pass:
    """One run: where, under which policy, as of which day, and its summary so far."""

    scope: Scope
    policy: DunningPolicy
    as_of: date
    summary: RunSummary


class Dunning:
    def __init__(self, store: DunningStore, invoices: OpenInvoices, with_: Collaborators, clock: Clock | None = None):
        self._store, self._invoices, self._with = store, invoices, with_
        self._clock = clock or SystemClock()

    def start(
        self, scope: Scope, request: DunningRunRequest, progress: Callable[[int], object] | None = None
    ) -> RunSummary:
        """``POST /v1/dunning_runs``: the scope's invoices (not those of test clocks, which
        advancing a clock runs), as of ``request.as_of``."""
        today = self._clock.now().date()
        as_of = date.fromisoformat(request.as_of) if request.as_of else today
        if scope.livemode and as_of > today:
            raise InvalidRequest("as_of cannot be after today in live mode.", param="as_of")
        return self.run(scope, as_of, progress=progress)

    def schedule(self, scopes: Iterable[Scope], queue: RunQueue) -> int:
        """The daily job: one message per shard of each scope with a policy, as of today (the
        dunning worker runs each: ``run_shard``); how many were queued."""
        today = self._clock.now().date()
        bodies = [
            ShardRun(scope, today, shard).body()
            for scope in scopes
            if not self._with.policy(scope).empty
            for shard in range(self._invoices.shards)
        ]
        queue.send(bodies)
        return len(bodies)

    def run_shard(self, message: ShardRun) -> RunSummary:
        return self.run(message.scope, message.as_of, shard=message.shard)

    def run(
        self,
        scope: Scope,
        as_of: date,
        clock: str | None = None,
        progress: Callable[[int], object] | None = None,
        policy: DunningPolicy | None = None,
        shard: int | None = None,
    ) -> RunSummary:
        """Apply what is due by ``as_of`` to the scope's open invoices (one shard of them, or a
        test clock's), under the scope's policy (``policy``: as read already, by a clock
        advancing day by day). An invoice that keeps changing under the run is left for the
        next one (``failed``); the others go on."""
        summary = RunSummary(as_of)
        policy = policy or self._with.policy(scope)
        if policy.empty:
            return summary
        this = _Pass(scope, policy, as_of, summary)
        for page in self._invoices.due_by(scope, as_of + timedelta(days=policy.lead_days), clock, shard):
            records = self._store.records(scope, [invoice.id for invoice in page])
            for invoice in page:
                self._invoice(this, invoice, records.get(invoice.id) or DunningRecord(invoice.id))
                summary.invoices += 1
                if progress:
                    progress(1)
        return summary

    def _invoice(self, this: _Pass, invoice: Invoice, record: DunningRecord) -> None:
        scope = this.scope
        for _ in range(RETRIES):
            try:
                self._apply(this, invoice, record)
                return
            except Conflict:  # a payment, a bill or another run meanwhile: read again, go on
                fresh = self._with.invoice_of(scope, invoice.id)
                if fresh is None:
                    return
                invoice = fresh
                record = self._store.records(scope, [invoice.id]).get(invoice.id) or DunningRecord(invoice.id)
        this.summary.failed.append(invoice.id)  # the next run catches it up

    def _apply(self, this: _Pass, invoice: Invoice, record: DunningRecord) -> None:
        scope, policy, summary = this.scope, this.policy, this.summary
        for step in due_steps(policy, invoice, this.as_of, record.done):
            if invoice.status != "open":
                return
            write = self._step(scope, policy, invoice, record, step, this.as_of)
            self._store.write(scope, write)
            summary.steps[step.action] = summary.steps.get(step.action, 0) + 1
            record, invoice = write.record, write.invoice or invoice
        if invoice.status == "open" and policy.penalty_interest is not None:
            interest = self._interest(scope, policy, invoice, record, this.as_of)
            if interest is not None:
                self._store.write(scope, interest)
                more = interest.record.interest_charged - record.interest_charged
                summary.interest_charged[invoice.currency] = summary.interest_charged.get(invoice.currency, 0) + more

    def _step(
        self, scope: Scope, policy: DunningPolicy, invoice: Invoice, record: DunningRecord, step: DueStep, today: date
    ) -> DunningWrite:
        at = _moment(step.on)
        done = replace(record, done=record.done | {step.key}, revision=record.revision + 1)
        base = DunningWrite(invoice, done, record.revision)
        subject = {"object": invoice.to_public(), "customer": invoice.customer, "days_after_due": step.days_after_due}
        match step.action:
            case "reminder":
                return replace(base, events=(_event("InvoiceReminder", scope, at, subject),))
            case "retry_payment":
                return replace(base, events=(_event("InvoicePaymentRetried", scope, at, subject),))
            case "late_fee":
                return self._late_fee(scope, policy, invoice, step, base, today)
            case "suspend":
                customer = self._customer(scope, invoice.customer)
                if customer.suspension is not None or customer.status == "archived":
                    return base  # suspended already (for debt or otherwise), or no longer served
                suspension = Suspension(SUSPENDED_FOR_DEBT, at)
                access = replace(customer, suspension=suspension).access.to_public()
                event = _event("CustomerSuspended", scope, at, {"object": access, "invoice": invoice.id})
                return replace(base, customer=customer, suspension=suspension, events=(event,))
            case "final_notice":
                customer = self._customer(scope, invoice.customer)
                debt = self._with.debt_of(scope, customer.id, step.on)
                document, url = self._with.notice(scope, invoice, customer, debt, step.on)
                data = {**subject, "debt": debt.to_public(), "document": document, "checkout_url": url}
                return replace(base, events=(_event("InvoiceFinalNotice", scope, at, data),))
            case "mark_uncollectible":
                return self._write_off(scope, invoice, base, at)
        raise AssertionError(step.action)

    def _late_fee(
        self,
        scope: Scope,
        policy: DunningPolicy,
        invoice: Invoice,
        step: DueStep,
        base: DunningWrite,
        today: date,
    ) -> DunningWrite:
        """The fee as an item dated when it fell due; on an invoice of its own, one issued on the
        run's day (an invoice is never dated back: numbers follow issue dates)."""
        at = _moment(step.on)
        if not step.amount or not unpaid(invoice).principal:
            return base  # nothing to charge, or an invoice of fees and interest: no penalty on penalties
        number = invoice.number or invoice.id
        item = _item(scope, invoice, "late_fee", step.amount, f"Late fee for invoice {number}", at)
        data = {"object": item.to_public(), "customer": invoice.customer, "invoice": invoice.id}
        events = (_item_event(scope, item), _event("LateFeeCharged", scope, at, data))
        if policy.late_fees == "next_invoice":
            return replace(base, new_item=item, events=events)
        customer = self._customer(scope, invoice.customer)
        billed, build, created = self._with.bill_at_once(scope, customer, item, to_wire(_moment(today)))
        return replace(base, new_item=billed, own_invoice=build, events=(*events, created))

    def _write_off(self, scope: Scope, invoice: Invoice, base: DunningWrite, at: datetime) -> DunningWrite:
        due = invoice.amount_due
        written_off = invoice.model_copy(
            update={"status": "uncollectible", "amount_due": 0, "amount_written_off": invoice.amount_written_off + due,
                    "revision": invoice.revision + 1}
        )  # fmt: skip
        journal = None
        if due:
            journal = entry(written_off, "write_off", to_wire(at), ledger.written_off(due))
        event = _event("InvoiceMarkedUncollectible", scope, at, {"object": written_off.to_public()})
        return replace(base, invoice=written_off, journal=journal, events=(event,))

    def _interest(
        self, scope: Scope, policy: DunningPolicy, invoice: Invoice, record: DunningRecord, as_of: date
    ) -> DunningWrite | None:
        terms, due = policy.penalty_interest, due_date_of(invoice)
        days, principal = (days_overdue(due, as_of) if due else 0), unpaid(invoice).principal
        total = record.accrued + accrued_between(terms, record.accrued_days, days, principal)
        if terms is None or total == record.accrued:
            return None  # nothing accrued since (before the first tier, or nothing owed)
        top = max(record.top_principal, principal)
        owed = to_minor(capped(terms, total, top))
        more = owed - record.interest_charged
        at = _moment(as_of)
        progressed = replace(record, accrued=total, accrued_days=days, top_principal=top, revision=record.revision + 1)
        if more <= 0:  # capped: only the accrual moves on
            return DunningWrite(invoice, progressed, record.revision)
        charged = replace(progressed, interest_charged=owed)
        base = DunningWrite(invoice, charged, record.revision)
        pending = self._pending_interest(scope, record)
        if pending is not None:
            raised = pending.model_copy(update={"amount": pending.amount + more})
            return replace(base, raised_item=ItemChange(raised, pending.amount), events=(_accrued(scope, raised, at),))
        number = invoice.number or invoice.id
        item = _item(scope, invoice, "penalty_interest", more, f"Penalty interest on invoice {number}", at)
        return replace(
            base, record=replace(charged, interest_item=item.id), new_item=item,
            events=(_item_event(scope, item), _accrued(scope, item, at)),
        )  # fmt: skip

    def _pending_interest(self, scope: Scope, record: DunningRecord) -> InvoiceItem | None:
        if record.interest_item is None:
            return None
        item = self._with.item_of(scope, record.interest_item)
        return item if item is not None and item.pending else None

    def _customer(self, scope: Scope, customer_id: str) -> Customer:
        customer = self._with.customer_of(scope, customer_id)
        if customer is None:
            raise Conflict(f"No such customer: '{customer_id}'", code="concurrent_update")
        return customer


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _item(scope: Scope, invoice: Invoice, kind: Kind, amount: int, description: str, at: datetime) -> InvoiceItem:
    """A fee or interest item for ``invoice``: the tenant's own charge (no supplier)."""
    return InvoiceItem(
        id=new_id(ITEM_PREFIX), livemode=scope.livemode, customer=invoice.customer, amount=amount,
        currency=invoice.currency, description=description, kind=kind, source_invoice=invoice.id,
        created_at=to_wire(at),
    )  # fmt: skip


def _event(kind: str, scope: Scope, at: datetime, data: dict[str, Any]) -> DomainEvent:
    return DomainEvent(type=kind, scope=scope, occurred_at=at, data=data)


def _item_event(scope: Scope, item: InvoiceItem) -> DomainEvent:
    return _event("InvoiceItemCreated", scope, datetime.fromisoformat(item.created_at), {"object": item.to_public()})


def _accrued(scope: Scope, item: InvoiceItem, at: datetime) -> DomainEvent:
    data = {"object": item.to_public(), "customer": item.customer, "invoice": item.source_invoice}
    return _event("PenaltyInterestCharged", scope, at, data)
