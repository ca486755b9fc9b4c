"""Payment use cases: record a payment, read them, a customer's balance.

Recording allocates the payment (``billing.payments.allocation``) and writes it with the
invoices it pays, its journal entry and its events in one transaction; an invoice changed
meanwhile (another payment, a credit note) makes it start again from what is stored now.
Offline payments come through ``POST /v1/payments`` (idempotent like every POST: the same
Idempotency-Key records it once); the providers' payments start pending on the hosted checkout
(``billing.payments.hosted``) and move with their providers' reports (``apply``, the
``ProviderEventHandler`` the webhook processor calls; rules in ``billing.payments.settlement``).
Refunds (``refund``) are ``billing.payments.refunds``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from billing import ledger
from billing.clock import to_wire
from billing.customers import Customer
from billing.errors import Conflict, DomainRuleViolation, InvalidRequest, NotFound
from billing.events import DomainEvent
from billing.ids import found, new_id
from billing.invoicing.model import Invoice
from billing.pagination import Page
from billing.payments import settlement
from billing.payments.accounts import EnabledProviders, NoProviderAccounts
from billing.payments.allocation import OWN, Allocated, allocate, due_by_supplier
from billing.payments.model import OFFLINE, Payment, PaymentCreate, PaymentQuery
from billing.payments.providers import ProviderEvent
from billing.payments.refunds import RefundCreate, RefundCreditNotes, Refunds
from billing.payments.reports import Reports
from billing.payments.saved_cards import SavedCards
from billing.prepaid.model import PrepaidBalance
from billing.scope import Scope
from billing.tenant_settings import TenantSettings

ATTEMPTS = 5  # a payment races other payments and credit notes of the same invoices


class PaymentRepository(Protocol):
    def record(
        self,
        scope: Scope,
        payment: Payment,
        invoices: Sequence[Invoice],
        entries: Sequence[ledger.JournalEntry],
        events: Sequence[DomainEvent],
        set_currency: bool = False,
    ) -> None:
        """Write the payment (new at ``revision`` 1, else replacing the revision before its
        own), the ``invoices`` it paid (each still at the revision before its own), its
        entries and its events at once; a retryable ``Conflict`` on a race. With
        ``set_currency`` the customer, which had no currency, takes the payment's (a 422
        ``currency_mismatch`` if it took another meanwhile): its credit is in that currency.
        A provider's payment is found again by its references (``by_reference``)."""

    def get(self, scope: Scope, payment_id: str) -> Payment | None: ...

    def by_reference(self, scope: Scope, provider: str, reference: str) -> Payment | None:
        """The payment whose ``provider_reference`` or ``payment_reference`` is ``reference``."""

    def list(self, scope: Scope, query: PaymentQuery, limit: int, starting_after: str | None) -> Page[Payment]: ...


class CustomerInvoices(Protocol):
    def get(self, scope: Scope, invoice_id: str) -> Invoice | None: ...

    def open_of(self, scope: Scope, customer_id: str) -> Sequence[Invoice]:
        """The customer's open invoices."""


@dataclass(frozen=True)
class SupplierBalance:
    supplier: str | None
    receivable: int


@dataclass(frozen=True)
class Balance:
    """What a customer owes and holds: ``receivable`` and ``customer_credit`` from the ledger,
    and what is still due per supplier from its open invoices; a prepaid customer's real-time
    ``prepaid`` balance (None for a postpaid one)."""

    customer: str
    currency: str | None
    receivable: int
    customer_credit: int
    suppliers: list[SupplierBalance]
    prepaid: PrepaidBalance | None = None

    def to_public(self) -> dict[str, Any]:
        return {
            "object": "balance",
            "customer": self.customer,
            "currency": self.currency,
            "receivable": self.receivable,
            "customer_credit": self.customer_credit,
            "suppliers": [{"supplier": s.supplier, "receivable": s.receivable} for s in self.suppliers],
            "prepaid": self.prepaid.to_public() if self.prepaid else None,
        }


class Payments:
    def __init__(
        self,
        repo: PaymentRepository,
        invoices: CustomerInvoices,
        customer_of: Callable[[Scope, str], Customer | None],
        balances_of: Callable[[Scope, str], dict[str, int]],
        now: Callable[[Scope, str | None], datetime],
        *,
        providers: EnabledProviders | None = None,
        settings: Callable[[Scope], TenantSettings] | None = None,
        cards: SavedCards | None = None,
        credit_notes: RefundCreditNotes | None = None,
        prepaid: Callable[[Scope, Customer], PrepaidBalance | None] | None = None,
    ):
        """``customer_of`` finds a customer by id or by the tenant's external id
        (``billing.customers.service.find_customer``), as usage events and the ledger do.
        ``providers`` gives the credentials ``apply`` asks a provider with; ``settings`` the
        tenant's ``underpayment_tolerance``; ``cards`` keeps the cards customers ask to save;
        ``credit_notes`` issues a refund's credit notes; ``prepaid`` a prepaid customer's
        real-time balance (``billing.prepaid``)."""
        self._prepaid = prepaid
        self._repo, self._invoices, self._customer_of = repo, invoices, customer_of
        self._balances_of, self._now = balances_of, now
        self._reports = Reports(
            repo, invoices, customer_of, balances_of, now, providers or NoProviderAccounts(),
            settings or (lambda scope: TenantSettings()), cards,
        )  # fmt: skip
        self._refunds = Refunds(repo, invoices, customer_of, balances_of, now, providers or NoProviderAccounts(),
                                self._reports, credit_notes, prepaid)  # fmt: skip

    def record(self, scope: Scope, data: PaymentCreate) -> Payment:
        """An offline payment, succeeded as it is recorded."""
        customer = self._customer(scope, data.customer)
        if customer.currency and customer.currency != data.currency:
            raise DomainRuleViolation(
                f"The customer is billed in {customer.currency}; this payment is in {data.currency}.",
                code="currency_mismatch",
                param="currency",
            )
        now = self._now(scope, customer.test_clock)
        paid_at = data.paid_at or to_wire(now)
        if datetime.fromisoformat(paid_at) > now:  # the customer's time: its test clock's
            raise InvalidRequest("paid_at cannot be in the future.", param="paid_at")
        payment_id = new_id("pay")
        for attempt in range(ATTEMPTS):
            candidates = (
                [self._target(scope, customer, data)] if data.invoice else self._invoices.open_of(scope, customer.id)
            )
            allocated = allocate(data.amount, [i for i in candidates if i.currency == data.currency])
            payment = Payment(
                id=payment_id, livemode=scope.livemode, customer=customer.id, invoice=data.invoice,
                provider=OFFLINE, channel=data.channel, amount=data.amount, amount_received=data.amount,
                currency=data.currency, status="succeeded", provider_reference=data.reference,
                allocations=allocated.allocations, credited=allocated.excess, description=data.description,
                metadata=data.metadata, paid_at=paid_at, created_at=to_wire(now),
            )  # fmt: skip
            try:
                self._settle(scope, payment, allocated, to_wire(now), set_currency=customer.currency is None)
                return payment
            except Conflict as race:
                if not race.retryable or attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _settle(self, scope: Scope, payment: Payment, allocated: Allocated, now: str, set_currency: bool) -> None:
        """Write a succeeded payment with what it pays, its entry and events."""
        journal, events = settlement.received_entry(scope, payment, allocated, payment.amount_received, now)
        self._repo.record(scope, payment, allocated.invoices, [journal], events, set_currency)

    def apply(self, scope: Scope, provider: str, event: ProviderEvent) -> Payment | None:
        """A provider's verified report about one of our payments: the ``ProviderEventHandler``
        the webhook processor calls (``billing.payments.reports``)."""
        return self._reports.apply(scope, provider, event)

    def refund(self, scope: Scope, payment_id: str, data: RefundCreate, request_key: str | None = None) -> Payment:
        """``POST /v1/payments/{id}/refund`` (``billing.payments.refunds``); ``request_key`` is
        the request's ``Idempotency-Key``, which the provider's refund key derives from."""
        return self._refunds.refund(scope, payment_id, data, request_key)

    def _customer(self, scope: Scope, ref: str) -> Customer:
        """The customer a body names (by id or external id): a 400 naming ``customer``."""
        customer = self._customer_of(scope, ref)
        if customer is None:
            raise InvalidRequest(f"No such customer: '{ref}'.", code="resource_missing", param="customer")
        return customer

    def _target(self, scope: Scope, customer: Customer, data: PaymentCreate) -> Invoice:
        """The invoice a payment is made for: the customer's, in its currency, finalized."""
        invoice = self._invoices.get(scope, data.invoice or "")
        if invoice is None or invoice.customer != customer.id:
            raise InvalidRequest(f"No such invoice of this customer: '{data.invoice}'.", code="resource_missing",
                                 param="invoice")  # fmt: skip
        if invoice.currency != data.currency:
            raise DomainRuleViolation(
                f"The invoice is in {invoice.currency}; this payment is in {data.currency}.",
                code="currency_mismatch",
                param="currency",
            )
        if invoice.status in ("draft", "void"):
            raise Conflict(f"A {invoice.status} invoice cannot be paid.", code="invoice_not_payable")
        return invoice  # a paid one takes nothing more: the payment is customer credit

    def get(self, scope: Scope, payment_id: str) -> Payment:
        return found(lambda object_id: self._repo.get(scope, object_id), payment_id, "pay", "payment")

    def list(self, scope: Scope, query: PaymentQuery) -> Page[Payment]:
        return self._repo.list(scope, query, query.page.limit, query.page.starting_after)

    def balance(self, scope: Scope, ref: str) -> Balance:
        """The balance of the customer a path names (by id or external id, as the ledger's):
        a 404 naming ``customer_id``."""
        customer = self._customer_of(scope, ref)
        if customer is None:
            raise NotFound(f"No such customer: '{ref}'", param="customer_id")
        balances = self._balances_of(scope, customer.id)
        due: dict[str, int] = defaultdict(int)
        for invoice in self._invoices.open_of(scope, customer.id):
            for supplier, amount in due_by_supplier(invoice).items():
                due[supplier] += amount
        return Balance(
            customer=customer.id,
            currency=customer.currency,
            receivable=balances.get(ledger.RECEIVABLE, 0),
            customer_credit=ledger.credit_available(balances),
            suppliers=[SupplierBalance(None if key == OWN else key, amount) for key, amount in sorted(due.items())],
            prepaid=self._prepaid(scope, customer) if self._prepaid else None,
        )
