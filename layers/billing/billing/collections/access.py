"""A customer's access: whether the tenant should serve it (``GET /v1/customers/{id}/access``).

Dunning's ``suspend`` step suspends a customer for debt (``CustomerSuspended``); once it owes
nothing overdue (no open invoice past its due date, as of its clock's date, and none written
off: paid, credited or voided) it is reinstated at once (``CustomerReinstated``). Archived
customers are neither suspended nor reinstated. The review runs on the events that
can settle a debt (``functions/collections_events``: ``InvoicePaid``, ``InvoiceVoided``,
``CreditNoteIssued``, through a queue with retries and a dead-letter queue). Reviewing twice
changes nothing: only a suspended customer is reinstated, in a write conditional on the
customer's version.

A prepaid customer whose balance ran out under ``prepaid_at_zero: suspend`` is suspended
(``balance_exhausted``) from ``CustomerBalanceExhausted``, and reinstated once a top-up lifts
its balance above zero (``CustomerCreditChanged``, a payment's credit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from billing.collections.debt import due_date_of
from billing.collections.interest import days_overdue
from billing.customers.model import Access, Customer, Suspension
from billing.errors import Conflict, NotFound
from billing.events import DomainEvent
from billing.invoicing.model import Invoice
from billing.scope import Scope

DEBT = "suspended_for_debt"
EXHAUSTED = "balance_exhausted"


class AccessStore(Protocol):
    def set_suspension(
        self, scope: Scope, customer: Customer, suspension: Suspension | None, events: Sequence[DomainEvent]
    ) -> None:
        """Suspend (or reinstate: None) ``customer`` if unchanged since read, with ``events``;
        ``Conflict`` otherwise."""


class CustomerAccess:
    def __init__(
        self,
        store: AccessStore,
        customer_of: Callable[[Scope, str], Customer | None],
        unsettled: Callable[[Scope, str], Sequence[Invoice]],
        now: Callable[[Scope, str | None], datetime],
        prepaid_balance: Callable[[Scope, Customer], int | None],
    ):
        """``unsettled``: a customer's open and written-off invoices; ``prepaid_balance``: a
        prepaid customer's spendable balance (None for a postpaid one)."""
        self._store, self._customer_of, self._open, self._now = store, customer_of, unsettled, now
        self._balance = prepaid_balance

    def of(self, scope: Scope, customer_id: str) -> Access:
        customer = self._customer_of(scope, customer_id)
        if customer is None:
            raise NotFound(f"No such customer: '{customer_id}'", param="id")
        return customer.access

    def exhausted(self, scope: Scope, customer_id: str) -> Access | None:
        """Suspend a prepaid customer whose balance ran out (``CustomerBalanceExhausted``, under
        the tenant's ``prepaid_at_zero: suspend``), if it still has nothing left and is not
        suspended already; its new access, or None when nothing changed."""
        for _ in range(3):
            customer = self._customer_of(scope, customer_id)
            if customer is None or customer.status == "archived" or customer.suspension is not None:
                return None
            balance = self._balance(scope, customer)
            if balance is None or balance > 0:
                return None  # topped up meanwhile
            now = self._now(scope, customer.test_clock)
            suspension = Suspension(EXHAUSTED, now)
            access = replace(customer, suspension=suspension).access
            event = DomainEvent("CustomerSuspended", scope, now, {"object": access.to_public(), "invoice": None})
            try:
                self._store.set_suspension(scope, customer, suspension, [event])
                return access
            except Conflict:
                continue
        return None

    def review(self, scope: Scope, customer_id: str) -> Access | None:
        """Reinstate a customer suspended for debt that has nothing overdue any more, or for its
        prepaid balance once it is above zero again; its new access, or None when nothing
        changed."""
        for _ in range(3):
            customer = self._customer_of(scope, customer_id)
            if customer is None or customer.status == "archived" or customer.suspension is None:
                return None
            now = self._now(scope, customer.test_clock)
            if not self._settled(scope, customer, now):
                return None
            reinstated = Access(customer.id, True, None, now)
            event = DomainEvent("CustomerReinstated", scope, now, {"object": reinstated.to_public()})
            try:
                self._store.set_suspension(scope, customer, None, [event])
                return reinstated
            except Conflict:
                continue  # the customer changed meanwhile: look again
        return None

    def _settled(self, scope: Scope, customer: Customer, now: datetime) -> bool:
        """Whether what the customer is suspended for is over."""
        assert customer.suspension is not None
        if customer.suspension.reason == EXHAUSTED:
            balance = self._balance(scope, customer)
            return balance is None or balance > 0
        if customer.suspension.reason == DEBT:
            return not any(overdue(invoice, now) for invoice in self._open(scope, customer.id))
        return False  # a suspension of another kind is lifted by whoever made it


def overdue(invoice: Invoice, now: datetime) -> bool:
    """Past its due date and unpaid; a written-off invoice still counts (the debt is let go
    in the books, not forgiven: voiding or crediting it forgives it)."""
    if invoice.status == "uncollectible":
        return True
    due = due_date_of(invoice)
    return invoice.status == "open" and invoice.amount_due > 0 and due is not None and days_overdue(due, now.date()) > 0
