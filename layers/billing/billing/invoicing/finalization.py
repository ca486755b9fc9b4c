"""Finalizing a draft: the invoice it becomes and what that posts.

Finalizing assigns the next number (``{prefix}-{year}-{sequence:06d}``, gap-free and
increasing per tenant and mode), sets ``issued_at`` and ``due_date`` (the tenant's payment
terms), applies the customer's credit (``starting_balance``, ``applied_balance``,
``ending_balance``, as Stripe shows them), posts the invoice to the ledger and emits
``InvoiceFinalized``. A negative total becomes customer credit; an invoice with nothing to pay
is ``paid`` at once. The result depends on two things only the store knows at the moment it
writes, the customer's balances and the next number: the store reads them together and
calls ``Finalization.build`` with them (again, if another finalization took the number first).

A draft with no grace period to wait for (the tenant's ``grace_period`` is 0, so it is due the
moment its billing step is) is finalized in the very write of that step
(``FinalizingStepWriter``): one write instead of a draft and then its finalization, with the
same result. Nothing can come in between that a separate finalization would see: the draft
was rated from the usage totals a moment ago, and usage for its period is refused from the
moment the period closes (no grace).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from billing import ledger
from billing.clock import to_wire
from billing.events import DomainEvent
from billing.invoicing.model import Invoice, invoice_event
from billing.scope import Scope
from billing.tenant_settings import TenantSettings

if TYPE_CHECKING:
    from billing.invoicing.biller import Outcome


def invoice_number(prefix: str, issued_at: str, sequence: int) -> str:
    return f"{prefix}-{issued_at[:4]}-{sequence:06d}"


@dataclass(frozen=True)
class Finalized:
    """A finalized invoice with the journal entry and the events written with it."""

    invoice: Invoice
    journal: ledger.JournalEntry
    events: Sequence[DomainEvent]


Build = Callable[[Mapping[str, int], int], Finalized]
"""``build(balances, sequence)``: the finalization of a draft, given the customer's balances
per account and the number the store hands out."""


@dataclass(frozen=True)
class Finalization:
    """Finalizing ``draft`` (rated: its lines and totals are final) at ``issued_at``."""

    scope: Scope
    draft: Invoice
    settings: TenantSettings
    issued_at: str

    def build(self, balances: Mapping[str, int], sequence: int) -> Finalized:
        draft, issued_at = self.draft, self.issued_at
        credit = ledger.credit_available(dict(balances))
        applied = min(credit, draft.amount_due)
        due = datetime.fromisoformat(issued_at) + timedelta(days=self.settings.payment_terms_days)
        final = draft.model_copy(
            update={
                "number": invoice_number(self.settings.invoice_prefix, issued_at, sequence),
                "starting_balance": -credit,
                "applied_balance": applied,
                "ending_balance": -(credit - applied) + min(draft.total, 0),
                "amount_due": draft.amount_due - applied,
                "status": "open" if draft.amount_due > applied else "paid",
                "issued_at": issued_at,
                "due_date": to_wire(due),
                "finalize_at": None,
                "revision": draft.revision + 1,
            }
        )
        journal = ledger.entry(final, "invoice_finalized", issued_at, ledger.invoice_postings(final))
        return Finalized(final, journal, [invoice_event("InvoiceFinalized", self.scope, final, issued_at)])


class StepStore(Protocol):
    def apply_step(
        self, scope: Scope, outcome: Outcome, revision: int, finalize: Build | None = None
    ) -> Invoice | None:
        """Write the step at once (``Conflict`` if the subscription is no longer at
        ``revision``); with ``finalize``, its invoice is written finalized as ``finalize``
        builds it, with its number, journal entry and events. The invoice as written."""

    def of_subscription(self, scope: Scope, subscription_id: str) -> Sequence[Invoice]: ...


class FinalizingStepWriter:
    """The ``StepWriter`` of billing: a draft that is due at once is finalized in the write of
    its step; any other draft is written as it is, for a later finalization."""

    def __init__(self, store: StepStore, settings: Callable[[Scope], TenantSettings]):
        self._store, self._settings = store, settings

    def apply_step(self, scope: Scope, outcome: Outcome, revision: int) -> Invoice | None:
        finalize = None
        settings, invoice = self._settings(scope), outcome.invoice
        if invoice and invoice.finalize_at and due_at_once(invoice, settings):
            finalize = Finalization(scope, invoice, settings, invoice.finalize_at).build
        return self._store.apply_step(scope, outcome, revision, finalize)

    def of_subscription(self, scope: Scope, subscription_id: str) -> Sequence[Invoice]:
        return self._store.of_subscription(scope, subscription_id)


def due_at_once(draft: Invoice, settings: TenantSettings) -> bool:
    """A draft written with no grace period: due the moment its step is (and no later than
    it was created, whatever the clock it is on)."""
    return settings.grace_period == 0 and draft.finalize_at is not None and draft.finalize_at <= draft.created_at
