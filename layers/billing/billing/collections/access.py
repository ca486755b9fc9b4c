"""A customer's access: whether the tenant should serve it (``GET /v1/customers/{id}/access``).

Dunning's ``suspend`` step suspends a customer for debt (``CustomerSuspended``); once it owes
nothing overdue (no open invoice past its due date, as of its clock's date, and none written
off: paid, credited or voided) it is reinstated at once (``CustomerReinstated``). Archived
customers are neither suspended nor reinstated. The review runs on the events that
can settle a debt (``functions/collections_events``: ``InvoicePaid``, ``InvoiceVoided``,
``CreditNoteIssued``, through a queue with retries and a dead-letter queue). Reviewing twice
changes nothing: only a suspended customer is reinstated, in a write conditional on the
customer's version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    ):
        """``unsettled``: a customer's open and written-off invoices."""
        self._store, self._customer_of, self._open, self._now = store, customer_of, unsettled, now

    def of(self, scope: Scope, customer_id: str) -> Access:
        customer = self._customer_of(scope, customer_id)
        if customer is None:
            raise NotFound(f"No such customer: '{customer_id}'", param="id")
        return customer.access

    def review(self, scope: Scope, customer_id: str) -> Access | None:
        """Reinstate a customer suspended for debt that has nothing overdue any more; its new
        access, or None when nothing changed."""
        for _ in range(3):
            customer = self._customer_of(scope, customer_id)
            if customer is None or customer.status == "archived" or customer.suspension is None:
                return None
            if customer.suspension.reason != DEBT:
                return None
            now = self._now(scope, customer.test_clock)
            if any(overdue(invoice, now) for invoice in self._open(scope, customer.id)):
                return None
            reinstated = Access(customer.id, True, None, now)
            event = DomainEvent("CustomerReinstated", scope, now, {"object": reinstated.to_public()})
            try:
                self._store.set_suspension(scope, customer, None, [event])
                return reinstated
            except Conflict:
                continue  # the customer changed meanwhile: look again
        return None


def overdue(invoice: Invoice, now: datetime) -> bool:
    """Past its due date and unpaid; a written-off invoice still counts (the debt is let go
    in the books, not forgiven: voiding or crediting it forgives it)."""
    if invoice.status == "uncollectible":
        return True
    due = due_date_of(invoice)
    return invoice.status == "open" and invoice.amount_due > 0 and due is not None and days_overdue(due, now.date()) > 0
