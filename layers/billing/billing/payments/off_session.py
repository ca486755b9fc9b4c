"""Charging a customer's saved card when an invoice is finalized (off-session: without the
customer on a page), and when a prepaid customer's balance goes low (``top_up``: the tenant's
``prepaid_auto_top_up``, routed from ``CustomerBalanceLow`` by ``PrepaidTopUpRule`` to the same
queue; the rules below hold for it as for an invoice, its payment being for no invoice: all of
it customer credit, which raises the prepaid balance).

``InvoiceFinalized`` is routed from the bus to a queue (``InvoiceChargeRule`` ->
``InvoiceChargeQueue`` -> ``functions/invoice_charges``), which calls ``charge`` with the
invoice's id. The rules:

- Only an ``open`` invoice with ``amount_due`` > 0 (after customer credit) of a customer with a
  ``default_payment_method`` (``billing.payments.saved_cards``), whose provider account is
  enabled, is charged: the whole ``amount_due``, in the invoice's currency. Anything else
  changes nothing (a paid or voided invoice, no card, a disabled account: the customer pays
  through a checkout link).
- Once per invoice, however often its event is delivered, and never money taken without a
  record: the ``pending`` payment is written first, its id derived from the invoice
  (``charge_id``) and its amount the invoice's ``amount_due`` then, only where the id is free
  (a conditional write: created once). The card is charged after, for that stored amount,
  under an idempotency key made of the payment's id (Stripe answers a repeated request with
  the first PaymentIntent), with our payment's id in the charge's metadata; then the charge
  is attached (``provider_reference``: the PaymentIntent) and settled. A delivery that finds
  the payment pending and unattached (the one before stopped after the charge, or before it)
  charges again with the same key and the same amount, whatever the invoice has due now (a
  payment or credit note since: the excess becomes customer credit), so Stripe gives its first
  PaymentIntent back rather than a 400 for other parameters under the same key; one that finds
  it attached settles it again; one that finds it settled or failed does nothing. The
  provider's ``payment_intent.succeeded`` finds the payment by its reference once attached,
  else by the ``payment`` id in the intent's metadata (``Reports.apply``), so money taken
  before the reference was written is still recorded.
- The payment is a card payment like a checkout's (``off_session`` true), its
  ``provider_reference`` the provider's charge (Stripe's PaymentIntent). Accepted, it stays
  ``pending`` and is settled by ``Payments.apply`` at once (the provider asked for the truth)
  and again by the provider's webhook (``payment_intent.succeeded``), whichever comes first:
  the invoice is paid, allocated and posted as by any card payment. Known limit: a pending,
  unattached payment whose invoice was paid or voided meanwhile is not charged again and stays
  pending until the provider's webhook (if the first charge went through) records it.
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
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from billing.clock import to_wire
from billing.customers import Customer
from billing.customers.model import SavedCard
from billing.errors import Conflict
from billing.ids import derived_id
from billing.invoicing.model import Invoice
from billing.payments.accounts import EnabledProviders
from billing.payments.model import Payment, payment_event
from billing.payments.providers import CARDS_ON_FILE, ProviderEvent, SavedCardCharge
from billing.payments.providers.base import Credentials, ProviderCharge, ProviderError
from billing.scope import Scope
from billing.tenant_settings import TenantSettings


@dataclass(frozen=True)
class BalanceLow:
    """A ``CustomerBalanceLow`` event, as the charge queue receives it: whose balance, and the
    event's id and time (an auto top-up's payment is derived from them)."""

    scope: Scope
    customer: str
    event_id: str
    occurred_at: datetime


REFUSED_OUTRIGHT = frozenset({400, 401, 403, 404})
"""Provider answers that say the charge was refused before any money moved (a detached card, a
deleted customer, a revoked key): the payment is ``failed``, not left pending for a retry that
would be refused again. A decline is not among them: it is a ``failed`` charge already."""

if TYPE_CHECKING:
    from billing.payments.service import CustomerInvoices, PaymentRepository


def charge_id(invoice: Invoice, attempt: str | None = None) -> str:
    """The id of the one off-session payment of ``invoice`` (timed at its issue, derived from its
    id), or of one of its retries (``attempt``: the dunning step's, once each)."""
    issued = datetime.fromisoformat(invoice.issued_at) if invoice.issued_at else None
    millis = int(issued.timestamp() * 1000) if issued else 0
    return derived_id("pay", millis, f"off_session:{invoice.id}" + (f":{attempt}" if attempt else ""))


class OffSessionCharges:
    def __init__(
        self,
        repo: PaymentRepository,
        invoices: CustomerInvoices,
        customer_of: Callable[[Scope, str], Customer | None],
        providers: EnabledProviders,
        now: Callable[[Scope, str | None], datetime],
        settle: Callable[[Scope, str, ProviderEvent], Payment | None],
        settings: Callable[[Scope], TenantSettings] | None = None,
    ):
        """``settle`` applies a provider's report to a payment (``Payments.apply``); ``settings``
        gives the tenant's ``prepaid_auto_top_up``."""
        self._repo, self._invoices, self._customer_of = repo, invoices, customer_of
        self._providers, self._now, self._settle = providers, now, settle
        self._settings = settings or (lambda scope: TenantSettings())

    def charge(self, scope: Scope, invoice_id: str, attempt: str | None = None) -> Payment | None:
        """Charge the saved card of the customer of the finalized invoice ``invoice_id``: its
        payment (the earlier one on a redelivery), or None when nothing is to be charged.
        ``attempt`` names a retry (a dunning ``retry_payment`` step): a payment of its own."""
        invoice = self._invoices.get(scope, invoice_id)
        if invoice is None or invoice.status != "open" or invoice.amount_due <= 0:
            return None
        customer = self._customer_of(scope, invoice.customer)
        card = customer.default_payment_method if customer else None
        if customer is None or card is None or card.provider not in CARDS_ON_FILE:
            return None

        def draft(now: str) -> Payment:
            return Payment(
                id=charge_id(invoice, attempt), livemode=scope.livemode, customer=customer.id, invoice=invoice.id,
                provider=card.provider, method="card", channel="card", amount=invoice.amount_due,
                currency=invoice.currency, status="pending", off_session=True, description=f"Invoice {invoice.number}",
                created_at=now,
            )  # fmt: skip

        if attempt is not None:  # a retry waits while the first charge is still in flight
            first = self._repo.get(scope, charge_id(invoice))
            if first is not None and first.status == "pending":
                return first
        return self._off_session(scope, customer, card, charge_id(invoice, attempt), draft)

    def top_up(self, scope: Scope, low: BalanceLow) -> Payment | None:
        """Auto top-up: the prepaid customer whose balance went below its tenant's
        ``prepaid_low_balance_threshold`` (``CustomerBalanceLow``) has its saved card charged the
        tenant's ``prepaid_auto_top_up``, once per crossing (the payment's id is derived from the
        event's) and as an invoice's charge is (pending, then settled); received, it is customer
        credit and raises the prepaid balance (``billing.prepaid``). Nothing without an amount, a
        card or an enabled account, nor for a customer that is no longer prepaid."""
        amount = self._settings(scope).prepaid_auto_top_up
        customer = self._customer_of(scope, low.customer)
        card = customer.default_payment_method if customer else None
        if not amount or customer is None or customer.billing_mode != "prepaid" or not customer.currency:
            return None
        if card is None or card.provider not in CARDS_ON_FILE:
            return None
        payment_id = derived_id("pay", int(low.occurred_at.timestamp() * 1000), f"top_up:{low.event_id}")
        currency = customer.currency

        def draft(now: str) -> Payment:
            return Payment(
                id=payment_id, livemode=scope.livemode, customer=customer.id, invoice=None, provider=card.provider,
                method="card", channel="card", amount=amount, currency=currency, status="pending", off_session=True,
                description="Prepaid balance top-up", created_at=now,
            )  # fmt: skip

        return self._off_session(scope, customer, card, payment_id, draft)

    def _off_session(
        self, scope: Scope, customer: Customer, card: SavedCard, payment_id: str, draft: Callable[[str], Payment]
    ) -> Payment | None:
        """Charge ``card`` for the payment ``payment_id`` (``draft`` at the customer's time when it
        is not written yet): the rules of the module's docstring."""
        earlier = self._repo.get(scope, payment_id)
        if earlier is not None and earlier.status != "pending":
            return earlier
        credentials = self._providers.credentials(scope, card.provider)
        if credentials is None:
            return earlier
        payment = earlier or self._pending(scope, draft(to_wire(self._now(scope, customer.test_clock))))
        if payment.status != "pending":
            return payment
        reference = payment.provider_reference
        if reference is None:
            payment, reference = self._charge(scope, payment, card, credentials)
            if payment.status == "failed":
                return payment
        report = ProviderEvent(id=f"charge:{reference}", provider=payment.provider, type="charge_saved",
                               status="pending", occurred_at=datetime.fromisoformat(payment.created_at),
                               reference=reference, payment=payment.id)  # fmt: skip
        return self._settle(scope, payment.provider, report) or payment

    def _pending(self, scope: Scope, payment: Payment) -> Payment:
        """The off-session payment, written ``pending`` before any money moves: once (the other
        delivery's, if it wrote first)."""
        try:
            self._repo.record(scope, payment, [], [], [])
        except Conflict:  # the same event delivered twice at once: the other delivery wrote it
            found = self._repo.get(scope, payment.id)
            if found is None:
                raise
            return found
        return payment

    def _charge(self, scope: Scope, payment: Payment, card: SavedCard, credentials: Credentials) -> tuple[
        Payment, str
    ]:  # fmt: skip
        """Charge the stored ``payment``'s amount to ``card`` under its key, and attach the charge
        (failed: with the provider's reason and ``PaymentFailed``): the payment and the charge."""
        try:
            charged = CARDS_ON_FILE[card.provider].charge_saved(credentials, SavedCardCharge(
                amount=payment.amount, currency=payment.currency, customer_reference=card.customer_reference,
                payment_method=card.payment_method, description=payment.description or "",
                metadata={"invoice": payment.invoice or "", "payment": payment.id},
                idempotency_key=f"off_session-{payment.id}",
            ))  # fmt: skip
        except ProviderError as refused:
            if refused.status not in REFUSED_OUTRIGHT:
                raise  # unreachable, throttled, or busy: the message is delivered again
            charged = ProviderCharge("", "failed", "provider_refused", str(refused))
        failed = charged.status == "failed"
        attached = payment.model_copy(update={
            "status": "failed" if failed else "pending", "provider_reference": charged.reference or None,
            "failure_code": charged.failure_code, "failure_message": charged.failure_message,
            "revision": payment.revision + 1,
        })  # fmt: skip
        now = attached.created_at
        events = [payment_event("PaymentFailed", scope, attached, now)] if failed else []
        try:
            self._repo.record(scope, attached, [], [], events)
        except Conflict as race:  # attached by another delivery, or moved by the provider's webhook
            found = self._repo.get(scope, payment.id)
            if found is None or not race.retryable:
                raise
            return found, charged.reference
        return attached, charged.reference
