"""Invoice use cases: read, finalize, void, and what is coming.

- Finalizing re-rates a draft's usage (late events within the grace period count), assigns
  the next number (``{prefix}-{year}-{sequence:06d}``, gap-free and increasing per tenant and
  mode), sets ``issued_at`` and ``due_date`` (the tenant's payment terms), applies the
  customer's credit (``starting_balance``, ``applied_balance``, ``ending_balance``, as Stripe
  shows them), posts the invoice to the ledger and emits ``InvoiceFinalized``. A negative total
  becomes customer credit. An invoice with nothing to pay is ``paid`` at once. A finalized
  invoice never changes; corrections go through credit notes. Credit is applied when an
  invoice is finalized, never to invoices already open (as Stripe does).
- Voiding an open invoice without payments reverses its ledger entry, the credit it used
  included (``InvoiceVoided``). An invoice that credit notes or later prorations (unused
  time credited back) already corrected is credited further, never voided: a void would give
  back what was already given back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from billing import ledger
from billing.clock import to_wire
from billing.errors import Conflict
from billing.events import DomainEvent
from billing.ids import found
from billing.invoicing import prorations
from billing.invoicing.biller import SubscriptionBiller, apply_lines
from billing.invoicing.lines import in_order
from billing.invoicing.model import Invoice, InvoiceQuery, invoice_event
from billing.pagination import Page
from billing.scope import Scope
from billing.subscriptions.model import Subscription
from billing.tenant_settings import TenantSettings


class InvoiceRepository(Protocol):
    def get(self, scope: Scope, invoice_id: str) -> Invoice | None: ...

    def list(self, scope: Scope, query: InvoiceQuery, limit: int, starting_after: str | None) -> Page[Invoice]: ...

    def finalize(
        self,
        scope: Scope,
        invoice: Invoice,
        revision: int,
        number_for: Callable[[int], str],
        post: Callable[[Invoice], tuple[ledger.JournalEntry, Sequence[DomainEvent]]],
    ) -> Invoice: ...

    def post(
        self, scope: Scope, invoice: Invoice, revision: int, journal: ledger.JournalEntry, events: Sequence[DomainEvent]
    ) -> None: ...

    def journal(self, scope: Scope, customer: str) -> Sequence[ledger.JournalEntry]: ...

    def balances(self, scope: Scope, customer: str) -> dict[str, int]:
        """The customer's balance per account (the sums of the journal's postings)."""

    def of_subscription(self, scope: Scope, subscription_id: str) -> Sequence[Invoice]: ...


def invoice_number(prefix: str, issued_at: str, sequence: int) -> str:
    return f"{prefix}-{issued_at[:4]}-{sequence:06d}"


class InvoiceService:
    def __init__(
        self,
        repo: InvoiceRepository,
        biller: SubscriptionBiller,
        subscriptions: Callable[[Scope, str], Subscription | None],
        settings: Callable[[Scope], TenantSettings],
    ):
        self._repo, self._biller, self._subscriptions, self._settings = repo, biller, subscriptions, settings

    # -------------------------------------------------------------------- read
    def get(self, scope: Scope, invoice_id: str) -> Invoice:
        return found(lambda object_id: self._repo.get(scope, object_id), invoice_id, "inv", "invoice")

    def list(self, scope: Scope, query: InvoiceQuery) -> Page[Invoice]:
        return self._repo.list(scope, query, query.page.limit, query.page.starting_after)

    def journal(self, scope: Scope, customer: str) -> Sequence[ledger.JournalEntry]:
        return self._repo.journal(scope, customer)

    # ----------------------------------------------------------------- actions
    def finalize(self, scope: Scope, invoice_id: str) -> Invoice:
        invoice = self.get(scope, invoice_id)
        if invoice.status != "draft":
            raise Conflict(
                f"Invoice {invoice.number or invoice.id} is {invoice.status}, not a draft.", code="invoice_not_draft"
            )
        return self._finalize(scope, invoice)

    def finalize_if_due(self, scope: Scope, invoice_id: str, as_of: datetime) -> Invoice | None:
        """Finalize a draft whose grace period has ended by ``as_of`` (what runs call)."""
        invoice = self._repo.get(scope, invoice_id)
        if invoice is None or invoice.status != "draft" or (invoice.finalize_at or "") > to_wire(as_of):
            return None
        return self._finalize(scope, invoice, at=invoice.finalize_at)

    def void(self, scope: Scope, invoice_id: str) -> Invoice:
        invoice = self.get(scope, invoice_id)
        if invoice.status not in ("open", "uncollectible"):
            raise Conflict(f"Only open invoices can be voided; this one is {invoice.status}.", code="invoice_not_open")
        if invoice.amount_paid:
            raise Conflict("The invoice has payments; refund them or issue a credit note.", code="invoice_has_payments")
        if invoice.amount_credited:
            raise Conflict(
                "Credit notes already correct this invoice; credit what is left instead of voiding it.",
                code="invoice_has_credit_notes",
            )
        if any(line.id in self.prorated(scope, invoice) for line in invoice.lines):
            raise Conflict(
                "A later invoice credited unused time this invoice charged; credit what is left instead of voiding it.",
                code="invoice_prorated",
            )
        now = to_wire(self._biller.now(scope, invoice.test_clock))
        voided = invoice.model_copy(
            update={"status": "void", "voided_at": now, "amount_due": 0, "revision": invoice.revision + 1}
        )
        journal = ledger.entry(voided, "invoice_voided", now, ledger.reverse(ledger.invoice_postings(invoice)))
        event = invoice_event("InvoiceVoided", scope, voided, now)
        self._repo.post(scope, voided, invoice.revision, journal, [event])
        return voided

    def prorated(self, scope: Scope, invoice: Invoice) -> dict[str, int]:
        """What later invoices' prorations credited of this invoice's lines."""
        if not invoice.subscription:
            return {}
        taken = prorations.prorated(self._repo.of_subscription(scope, invoice.subscription))
        return {line.id: taken[line.id] for line in invoice.lines if line.id in taken}

    # ----------------------------------------------------------------- helpers
    def _finalize(self, scope: Scope, invoice: Invoice, at: str | None = None) -> Invoice:
        issued_at = at or to_wire(self._biller.now(scope, invoice.test_clock))
        charges = [line for line in invoice.lines if line.is_charge]
        subscription = self._subscriptions(scope, invoice.subscription) if invoice.subscription else None
        if subscription and invoice.usage:
            fresh = self._biller.usage_lines(scope, subscription, invoice.usage)
            charges = [line for line in charges if line.type != "usage"] + fresh
        settings = self._settings(scope)
        rated = apply_lines(invoice, in_order(charges))
        credit = ledger.credit_available(self._repo.balances(scope, invoice.customer))
        applied = min(credit, rated.amount_due)
        due = datetime.fromisoformat(issued_at) + timedelta(days=settings.payment_terms_days)
        final = rated.model_copy(
            update={
                "starting_balance": -credit,
                "applied_balance": applied,
                "ending_balance": -(credit - applied) + min(rated.total, 0),
                "amount_due": rated.amount_due - applied,
                "status": "open" if rated.amount_due > applied else "paid",
                "issued_at": issued_at,
                "due_date": to_wire(due),
                "finalize_at": None,
                "revision": invoice.revision + 1,
            }
        )

        def post(numbered: Invoice) -> tuple[ledger.JournalEntry, list[DomainEvent]]:
            journal = ledger.entry(numbered, "invoice_finalized", issued_at, ledger.invoice_postings(numbered))
            return journal, [invoice_event("InvoiceFinalized", scope, numbered, issued_at)]

        def number_for(sequence: int) -> str:
            return invoice_number(settings.invoice_prefix, issued_at, sequence)

        return self._repo.finalize(scope, final, invoice.revision, number_for, post)
