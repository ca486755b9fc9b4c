"""Invoice use cases: read, finalize, void, and what is coming.

- Finalizing re-rates a draft's usage (late events within the grace period count), then
  numbers it, applies the customer's credit and posts it (``billing.invoicing.finalization``).
  A finalized invoice never changes; corrections go through credit notes. Credit is applied
  when an invoice is finalized, never to invoices already open (as Stripe does).
- Voiding an open invoice without payments reverses its ledger entry, the credit it used
  included (``InvoiceVoided``). An invoice that credit notes or later prorations (unused
  time credited back) already corrected is credited further, never voided: a void would give
  back what was already given back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from billing import ledger
from billing.clock import to_wire
from billing.collections.invoice_items import InvoiceItem
from billing.errors import Conflict
from billing.events import DomainEvent
from billing.ids import found
from billing.invoicing import prorations
from billing.invoicing.biller import SubscriptionBiller, apply_lines
from billing.invoicing.finalization import Build, Finalization
from billing.invoicing.lines import in_order
from billing.invoicing.model import Invoice, InvoiceQuery, invoice_event
from billing.pagination import Page
from billing.scope import Scope
from billing.subscriptions.model import Subscription
from billing.tenant_settings import TenantSettings


class InvoiceRepository(Protocol):
    def get(self, scope: Scope, invoice_id: str) -> Invoice | None: ...

    def list(self, scope: Scope, query: InvoiceQuery, limit: int, starting_after: str | None) -> Page[Invoice]: ...

    def finalize(self, scope: Scope, draft: Invoice, build: Build) -> Invoice:
        """Write what ``build`` makes of ``draft`` (still at its revision, else ``Conflict``)
        from the customer's balances and the next invoice number, read together; the
        invoice as written."""

    def post(
        self,
        scope: Scope,
        invoice: Invoice,
        revision: int,
        journal: ledger.JournalEntry,
        events: Sequence[DomainEvent],
        voided_items: Sequence[InvoiceItem] = (),
    ) -> None: ...

    def journal(self, scope: Scope, customer: str) -> Sequence[ledger.JournalEntry]: ...

    def of_subscription(self, scope: Scope, subscription_id: str) -> Sequence[Invoice]: ...


class InvoiceService:
    def __init__(
        self,
        repo: InvoiceRepository,
        biller: SubscriptionBiller,
        subscriptions: Callable[[Scope, str], Subscription | None],
        settings: Callable[[Scope], TenantSettings],
        penalties: Callable[[Scope, Invoice], Sequence[InvoiceItem]] = lambda scope, invoice: (),
    ):
        """``penalties``: the late fees and interest still pending for an invoice (what its void
        voids with it)."""
        self._repo, self._biller, self._subscriptions, self._settings = repo, biller, subscriptions, settings
        self._penalties = penalties

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
        undone = ledger.reverse(ledger.invoice_postings(invoice))
        if invoice.status == "uncollectible":  # its write-off goes back too: nothing stays receivable
            undone += ledger.reverse(ledger.written_off(invoice.amount_written_off))
        journal = ledger.entry(voided, "invoice_voided", now, undone)
        dropped = [item.model_copy(update={"voided_at": now}) for item in self._penalties(scope, invoice)]
        events = [invoice_event("InvoiceVoided", scope, voided, now)]
        at = datetime.fromisoformat(now)
        events += [DomainEvent("InvoiceItemVoided", scope, at, {"object": item.to_public()}) for item in dropped]
        self._repo.post(scope, voided, invoice.revision, journal, events, dropped)
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
        if invoice.usage and invoice.subscription:
            subscription = self._subscriptions(scope, invoice.subscription)
            if subscription:
                fresh = self._biller.usage_lines(scope, subscription, invoice.usage)
                charges = [line for line in charges if line.type != "usage"] + fresh
        rated = apply_lines(invoice, in_order(charges))
        return self._repo.finalize(scope, rated, Finalization(scope, rated, self._settings(scope), issued_at).build)
