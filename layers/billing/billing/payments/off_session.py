"""Charging a customer's saved card when an invoice is finalized (off-session: without the
customer on a page).

``InvoiceFinalized`` is routed from the bus to a queue (``InvoiceChargeRule`` ->
``InvoiceChargeQueue`` -> ``functions/invoice_charges``), which calls ``charge`` with the
invoice's id. The rules:

- Only an ``open`` invoice with ``amount_due`` > 0 (after customer credit) of a customer with a
  ``default_payment_method`` (``billing.payments.saved_cards``), whose provider account is
  enabled, is charged: the whole ``amount_due``, in the invoice's currency. Anything else
  changes nothing (a paid or voided invoice, no card, a disabled account: the customer pays
  through a checkout link).
- Once per invoice, however often its event is delivered: the payment's id is derived from the
  invoice (``charge_id``), written only where it is free, and the provider is asked with an
  idempotency key made of it (Stripe answers a repeated request with the first PaymentIntent).
  A redelivery finds the payment and does nothing, whatever became of it.
- The payment is a card payment like a checkout's (``off_session`` true), its
  ``provider_reference`` the provider's charge (Stripe's PaymentIntent). Accepted, it is
  recorded ``pending`` and settled by ``Payments.apply`` at once (the provider asked for the
  truth) and again by the provider's webhook (``payment_intent.succeeded``), whichever comes
  first: the invoice is paid, allocated and posted as by any card payment.
- Declined (or the bank asks for the customer: ``authentication_required``), it is recorded
  ``failed`` with the provider's ``failure_code`` and ``failure_message``, and ``PaymentFailed``
  is emitted; nothing is posted and the invoice stays open. Retrying a saved card is the
  collections' job (dunning policy, a later issue), which reads these failed payments; until
  then the customer can pay through a checkout link.
- A provider that cannot be reached (``ProviderError``) fails the message, which the queue
  delivers again (the idempotency key makes the retry safe), then keeps in its dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from billing.clock import to_wire
from billing.customers import Customer
from billing.errors import Conflict
from billing.ids import derived_id
from billing.invoicing.model import Invoice
from billing.payments.accounts import EnabledProviders
from billing.payments.model import Payment, payment_event
from billing.payments.providers import CARDS_ON_FILE, ProviderEvent, SavedCardCharge
from billing.scope import Scope

if TYPE_CHECKING:
    from billing.payments.service import CustomerInvoices, PaymentRepository


def charge_id(invoice: Invoice) -> str:
    """The id of the one off-session payment of ``invoice``: timed at its issue, derived from
    its id."""
    issued = datetime.fromisoformat(invoice.issued_at) if invoice.issued_at else None
    millis = int(issued.timestamp() * 1000) if issued else 0
    return derived_id("pay", millis, f"off_session:{invoice.id}")


class OffSessionCharges:
    def __init__(
        self,
        repo: PaymentRepository,
        invoices: CustomerInvoices,
        customer_of: Callable[[Scope, str], Customer | None],
        providers: EnabledProviders,
        now: Callable[[Scope, str | None], datetime],
        settle: Callable[[Scope, str, ProviderEvent], Payment | None],
    ):
        """``settle`` applies a provider's report to a payment (``Payments.apply``)."""
        self._repo, self._invoices, self._customer_of = repo, invoices, customer_of
        self._providers, self._now, self._settle = providers, now, settle

    def charge(self, scope: Scope, invoice_id: str) -> Payment | None:
        """Charge the saved card of the customer of the finalized invoice ``invoice_id``: its
        payment (the earlier one on a redelivery), or None when nothing is to be charged."""
        invoice = self._invoices.get(scope, invoice_id)
        if invoice is None or invoice.status != "open" or invoice.amount_due <= 0:
            return None
        customer = self._customer_of(scope, invoice.customer)
        card = customer.default_payment_method if customer else None
        if customer is None or card is None or card.provider not in CARDS_ON_FILE:
            return None
        payment_id = charge_id(invoice)
        earlier = self._repo.get(scope, payment_id)
        if earlier is not None:
            return earlier
        credentials = self._providers.credentials(scope, card.provider)
        if credentials is None:
            return None
        now = to_wire(self._now(scope, customer.test_clock))
        description = f"Invoice {invoice.number}"
        charged = CARDS_ON_FILE[card.provider].charge_saved(credentials, SavedCardCharge(
            amount=invoice.amount_due, currency=invoice.currency, customer_reference=card.customer_reference,
            payment_method=card.payment_method, description=description,
            metadata={"invoice": invoice.id, "payment": payment_id}, idempotency_key=f"off_session-{payment_id}",
        ))  # fmt: skip
        failed = charged.status == "failed"
        payment = Payment(
            id=payment_id, livemode=scope.livemode, customer=customer.id, invoice=invoice.id, provider=card.provider,
            method="card", channel="card", amount=invoice.amount_due, currency=invoice.currency,
            status="failed" if failed else "pending", provider_reference=charged.reference, off_session=True,
            failure_code=charged.failure_code, failure_message=charged.failure_message, description=description,
            created_at=now,
        )  # fmt: skip
        try:
            self._repo.record(scope, payment, [], [], [payment_event("PaymentFailed", scope, payment, now)] if failed
                              else [])  # fmt: skip
        except Conflict:  # the same event delivered twice at once: the other delivery recorded it
            found = self._repo.get(scope, payment_id)
            if found is None:
                raise
            return found
        if failed:
            return payment
        report = ProviderEvent(id=f"charge:{charged.reference}", provider=card.provider, type="charge_saved",
                               status=charged.status, occurred_at=datetime.fromisoformat(now),
                               reference=charged.reference)  # fmt: skip
        return self._settle(scope, card.provider, report) or payment
