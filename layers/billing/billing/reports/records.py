"""The source records the reports count, read through ports, and each one's contribution.

A record is named by its kind and id (``Ref``); its contribution is computed from the record
as stored now (the event that named it only says it changed), so an event delivered late or
twice applies the record's latest state, or nothing new.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from billing.catalog.lookups import CatalogLookups
from billing.customers.model import Customer
from billing.invoicing.credit_notes import CreditNote
from billing.invoicing.model import Invoice
from billing.payments.model import Payment
from billing.reports import mrr, sources
from billing.reports.buckets import Contribution, slices
from billing.scope import Scope
from billing.subscriptions.model import HistoryEntry, Subscription

Kind = Literal["sub", "inv", "pay", "cn"]
Record = Subscription | Invoice | Payment | CreditNote


@dataclass(frozen=True)
class Ref:
    kind: Kind
    id: str

    @property
    def key(self) -> str:
        return f"{self.kind}#{self.id}"


@dataclass(frozen=True)
class Debt:
    """An open invoice, as the debtors report ranks its customer: what is due, and when."""

    invoice: str
    currency: str
    amount: int
    due_date: str


@dataclass(frozen=True)
class Counted:
    """A record's part in the reports: its buckets, and its debt while it is an open invoice."""

    ref: Ref
    customer: str
    contribution: Contribution
    slices: tuple[str, ...]
    debt: Debt | None = None


class SourceStore(Protocol):
    """The source records, as stored (DynamoDB: ``adapters/dynamodb/report_sources.py``)."""

    def subscription(self, scope: Scope, subscription_id: str) -> Subscription | None: ...
    def history(self, scope: Scope, subscription_id: str) -> Sequence[HistoryEntry]: ...
    def invoice(self, scope: Scope, invoice_id: str) -> Invoice | None: ...
    def payment(self, scope: Scope, payment_id: str) -> Payment | None: ...
    def credit_note(self, scope: Scope, credit_note_id: str) -> CreditNote | None: ...
    def customer(self, scope: Scope, customer_id: str) -> Customer | None: ...


class Records:
    def __init__(self, store: SourceStore, catalog: CatalogLookups):
        self._store, self._catalog = store, catalog

    def load(self, scope: Scope, ref: Ref) -> Record | None:
        get: dict[Kind, Callable[[Scope, str], Record | None]] = {
            "sub": self._store.subscription, "inv": self._store.invoice, "pay": self._store.payment,
            "cn": self._store.credit_note,
        }  # fmt: skip
        return get[ref.kind](scope, ref.id)

    def counted(self, scope: Scope, record: Record, customer: Customer | None = None) -> Counted:
        """What ``record`` contributes (``customer``: its customer, when the caller read it)."""
        who = customer or self._store.customer(scope, record.customer)
        where = tuple(slices(who))

        def plan_code(plan_id: str) -> str:
            return self._catalog.plan(scope, plan_id).code

        if isinstance(record, Subscription):
            catalog = mrr.Catalog(
                plan=lambda plan_id: self._catalog.plan(scope, plan_id),
                add_on=lambda code: self._catalog.find_add_on(scope, code),
                coupon=lambda code: self._catalog.coupon(scope, code),
            )
            points = mrr.timeline(record, self._store.history(scope, record.id), catalog)
            return Counted(
                Ref("sub", record.id), record.customer, sources.subscription(record.currency, points, who), where
            )
        if isinstance(record, Invoice):
            debt = None
            if record.status == "open" and record.amount_due > 0 and record.due_date:
                debt = Debt(record.id, record.currency, record.amount_due, record.due_date[:10])
            return Counted(Ref("inv", record.id), record.customer, sources.invoice(record, who, plan_code), where, debt)
        if isinstance(record, Payment):
            return Counted(Ref("pay", record.id), record.customer, sources.payment(record, who), where)
        invoice = self._store.invoice(scope, record.invoice)
        note = sources.credit_note(record, invoice, who, plan_code)
        return Counted(Ref("cn", record.id), record.customer, note, where)
