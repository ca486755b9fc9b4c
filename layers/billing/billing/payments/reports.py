"""Applying a provider's reports to our payments: ``Payments.apply`` (the ``ProviderEventHandler``
the webhook processor calls) is this.

The report finds its payment by the provider's ids (written with the payment:
``PaymentRepository.by_reference``), else by our payment's id the provider's object carries
(``ProviderEvent.payment``: an off-session charge whose reference was not written yet); the
provider is asked for the truth (``fetch``, with the tenant's credentials from
``EnabledProviders``) rather than the payload trusted, and the payment
moves as ``billing.payments.settlement`` rules, written in one transaction at the revision it
was read at. A race (the same report delivered five times at once, a credit note on the same
invoice) loses the write, reads again and finds nothing new, or less to do. The report that
moves a payment the customer asked to save the card of to money received saves that card
(``billing.payments.saved_cards``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from billing import ledger
from billing.clock import to_wire
from billing.customers import Customer
from billing.errors import Conflict
from billing.events import DomainEvent
from billing.invoicing.model import Invoice, invoice_event
from billing.payments import settlement
from billing.payments.accounts import EnabledProviders, required
from billing.payments.allocation import allocate
from billing.payments.model import Payment, payment_event
from billing.payments.providers import PROVIDERS, ProviderEvent
from billing.payments.saved_cards import SavedCards
from billing.scope import Scope
from billing.tenant_settings import TenantSettings

if TYPE_CHECKING:
    from billing.payments.service import CustomerInvoices, PaymentRepository

ATTEMPTS = 5


class Reports:
    def __init__(
        self,
        repo: PaymentRepository,
        invoices: CustomerInvoices,
        customer_of: Callable[[Scope, str], Customer | None],
        balances_of: Callable[[Scope, str], dict[str, int]],
        now: Callable[[Scope, str | None], datetime],
        providers: EnabledProviders,
        settings: Callable[[Scope], TenantSettings],
        cards: SavedCards | None = None,
    ):
        self._repo, self._invoices, self._customer_of = repo, invoices, customer_of
        self._balances_of, self._now, self._providers, self._settings = balances_of, now, providers, settings
        self._cards = cards

    def apply(self, scope: Scope, provider: str, event: ProviderEvent) -> Payment | None:
        """The payment ``event`` is about, as the provider's truth leaves it. Idempotent: a
        report applied again, at the same time or days later, finds nothing new. None when the
        report is about nothing of ours (a well-signed event of an object we never created, or
        a type we do not act on, changes nothing)."""
        if event.status is None:
            return None
        payment = next(
            (found for ref in (event.reference, event.payment_reference) if ref
             for found in [self._repo.by_reference(scope, provider, ref)] if found),
            None,
        )  # fmt: skip
        if payment is None and event.payment:  # not attached yet (an off-session charge): our id, echoed
            payment = self._repo.get(scope, event.payment)
            payment = payment if payment and payment.provider == provider else None
        reference = payment and (payment.provider_reference or event.payment_reference or event.reference)
        if payment is None or not reference:
            return None
        truth = PROVIDERS[provider].fetch(required(self._providers, scope, provider), reference)
        if truth is None or truth.payment not in (None, payment.id):  # unknown to the provider, or not ours
            return payment
        return self.settle(scope, payment, lambda current: truth)[1]

    def settle(
        self, scope: Scope, payment: Payment, truth_of: Callable[[Payment], ProviderEvent]
    ) -> tuple[Payment, Payment]:
        """Move ``payment`` as ``truth_of`` it says (``settlement.advance``), written at the
        revision it was read at; a race reads it again and asks ``truth_of`` again (a report
        answers the same truth; a refund recorded without a provider checks what is left to
        refund). The payment the write started from and the payment it wrote: the same one
        when there was nothing new (``billing.payments.refunds`` reads what its reversal did
        from the difference)."""
        for attempt in range(ATTEMPTS):
            truth = truth_of(payment)
            step = settlement.advance(payment, truth)
            if step is None:
                return payment, payment
            try:
                updated = self._apply_step(scope, payment, step, truth)
            except Conflict as race:
                if not race.retryable or attempt == ATTEMPTS - 1:
                    raise
                payment = self._reread(scope, payment.id)
                continue
            if self._cards and updated.amount_received and not payment.amount_received:
                self._cards.remember(scope, updated, truth)
            return payment, updated
        raise AssertionError("unreachable")

    def _apply_step(self, scope: Scope, payment: Payment, step: settlement.Step, truth: ProviderEvent) -> Payment:
        """Write ``payment`` moved by ``step``: what newly arrived allocated (to the checkout's
        invoice, the rest as credit) and posted, a tolerated shortfall written off, what newly
        went back reversed, with their events, all in one transaction."""
        customer = self._customer_of(scope, payment.customer)
        assert customer is not None, "a payment's customer is never deleted"
        now = to_wire(self._now(scope, customer.test_clock))
        updated = payment.model_copy(
            update={"status": step.status, "amount_received": step.received, "amount_refunded": step.reversed,
                    "payment_reference": step.payment_reference, "revision": payment.revision + 1,
                    "paid_at": payment.paid_at or (to_wire(truth.occurred_at) if step.received else None)},
        )  # fmt: skip
        entries, events, invoices = [], list[DomainEvent](), list[Invoice]()
        received, excess = step.received - payment.amount_received, 0
        if received:
            target = self._invoices.get(scope, payment.invoice) if payment.invoice else None
            allocated = allocate(received, [target] if target and target.currency == payment.currency else [])
            updated = updated.model_copy(
                update={"allocations": [*payment.allocations, *allocated.allocations],
                        "credited": payment.credited + allocated.excess}
            )  # fmt: skip
            journal, events = settlement.received_entry(scope, updated, allocated, received, now)
            entries.append(journal)
            invoices, excess = list(allocated.invoices), allocated.excess
            entries += self._write_off(scope, invoices, events, now)
        reversed_ = step.reversed - payment.amount_refunded
        if reversed_:
            paid = {a.invoice for a in updated.allocations} - {i.id for i in invoices}
            current = {**{i: self._invoices.get(scope, i) for i in paid}, **{i.id: i for i in invoices}}
            credit = ledger.credit_available(self._balances_of(scope, payment.customer)) + excess
            undone = settlement.reversal(updated, reversed_, credit, {k: v for k, v in current.items() if v})
            updated = updated.model_copy(
                update={"allocations": [*updated.allocations, *undone.allocations],
                        "credited": updated.credited - undone.from_credit}
            )  # fmt: skip
            entries.append(ledger.journal_entry(payment.customer, payment.currency, f"payment_{step.status}", now,
                                                payment.id, undone.postings))  # fmt: skip
            events += settlement.reversal_events(scope, updated, undone, now)
            invoices = settlement.merged(invoices, undone.invoices)
        if not entries and step.status != payment.status and step.status in ("failed", "expired"):
            events.append(payment_event("PaymentFailed", scope, updated, now))
        self._repo.record(scope, updated, invoices, entries, events, set_currency=customer.currency is None)
        return updated

    def _write_off(
        self, scope: Scope, invoices: list[Invoice], events: list[DomainEvent], now: str
    ) -> list[ledger.JournalEntry]:
        """Write off the tolerated shortfall of the invoices just paid (in place, with an
        ``InvoicePaid`` event replacing their ``InvoicePartiallyPaid``)."""
        tolerance, entries = self._settings(scope).underpayment_tolerance, []
        for index, invoice in enumerate(invoices):
            written = settlement.write_off(invoice, tolerance)
            if written is None:
                continue
            invoices[index], postings = written
            entries.append(ledger.entry(invoice, "write_off", now, postings))
            for position, event in enumerate(events):
                if event.type == "InvoicePartiallyPaid" and event.data["object"]["id"] == invoice.id:
                    events[position] = invoice_event("InvoicePaid", scope, invoices[index], now)
        return entries

    def _reread(self, scope: Scope, payment_id: str) -> Payment:
        found = self._repo.get(scope, payment_id)
        assert found is not None, "a payment is never deleted"
        return found
