"""The dashboard's page of one customer: the customer, what it owes and holds (its balance),
and its latest subscriptions, invoices and payments as the lists' own tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from billing.dashboard.tables import Table, invoice_row, payment_row, subscription_row, table
from billing.scope import Scope

if TYPE_CHECKING:
    from billing.customers import Customer
    from billing.customers.service import CustomerService
    from billing.invoicing.service import InvoiceService
    from billing.payments.service import Balance, Payments
    from billing.subscriptions.service import SubscriptionService

LATEST = "10"  # rows of each list; the table links on to the whole list


@dataclass(frozen=True)
class CustomerPage:
    customer: Customer
    balance: Balance
    subscriptions: Table
    invoices: Table
    payments: Table


def customer_page(
    customers: CustomerService, subscriptions: SubscriptionService, invoices: InvoiceService,
    payments: Payments, scope: Scope, customer_id: str,
) -> CustomerPage:  # fmt: skip
    """404 (``customer_id``) when the scope has no such customer."""
    from billing.invoicing.model import InvoiceQuery
    from billing.payments.model import PaymentQuery
    from billing.subscriptions.service import SubscriptionQuery

    customer = customers.get(scope, customer_id)
    of = {"customer": customer.id, "limit": LATEST}
    return CustomerPage(
        customer, payments.balance(scope, customer.id),
        table("subscriptions", subscriptions.list(scope, SubscriptionQuery.from_params(of)), subscription_row, of),
        table("invoices", invoices.list(scope, InvoiceQuery.from_params(of)), invoice_row, of),
        table("payments", payments.list(scope, PaymentQuery.from_params(of)), payment_row, of),
    )  # fmt: skip
