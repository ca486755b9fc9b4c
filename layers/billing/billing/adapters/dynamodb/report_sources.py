"""The source records the reports count, read from their own items (``reports.records.SourceStore``),
and every one of a scope for the rebuild: the list indexes (GSI1) of subscriptions, invoices,
payments, credit notes and customers, all pages, then the items (never a table scan)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from billing.adapters.dynamodb import credit_notes, customers, invoices, payments, subscriptions, table
from billing.customers.model import Customer
from billing.invoicing.credit_notes import CreditNote
from billing.invoicing.model import Invoice
from billing.payments.model import Payment
from billing.reports.records import Record
from billing.scope import Scope
from billing.subscriptions.model import HistoryEntry, Subscription


class DynamoReportSources:
    def __init__(self) -> None:
        self._subscriptions = subscriptions.DynamoSubscriptionRepository()
        self._invoices = invoices.DynamoInvoiceRepository()
        self._payments = payments.DynamoPaymentRepository()
        self._notes = credit_notes.DynamoCreditNoteRepository()
        self._customers = customers.DynamoCustomerRepository()

    def subscription(self, scope: Scope, subscription_id: str) -> Subscription | None:
        return self._subscriptions.get(scope, subscription_id)

    def history(self, scope: Scope, subscription_id: str) -> Sequence[HistoryEntry]:
        return self._subscriptions.history(scope, subscription_id)

    def invoice(self, scope: Scope, invoice_id: str) -> Invoice | None:
        return self._invoices.get(scope, invoice_id)

    def payment(self, scope: Scope, payment_id: str) -> Payment | None:
        return self._payments.get(scope, payment_id)

    def credit_note(self, scope: Scope, credit_note_id: str) -> CreditNote | None:
        return self._notes.get(scope, credit_note_id)

    def customer(self, scope: Scope, customer_id: str) -> Customer | None:
        return self._customers.get(scope, customer_id)

    def customers(self, scope: Scope, ids: list[str]) -> dict[str, Customer]:
        """The customers of ``ids`` that exist (one ``BatchGetItem``)."""
        found = table.get_many([customers._key(scope, i) for i in ids]) if ids else []
        return {customer.id: customer for customer in (customers.from_item(item) for item in found if item)}

    def customers_of(self, scope: Scope) -> dict[str, Customer]:
        """Every customer of the scope, archived ones included."""
        found = table.query_all(f"{scope.key}#CUS", index="GSI1") + table.query_all(
            f"{scope.key}#CUS#ARCHIVED", index="GSI1"
        )
        return {customer.id: customer for customer in map(customers.from_item, found)}

    def records(self, scope: Scope) -> Iterator[Record]:
        """Every subscription, invoice, payment and credit note of the scope."""
        for item in table.query_all(f"{scope.key}#SUB", index="GSI1"):
            yield subscriptions.from_item(scope, item)
        for item in table.query_all(f"{scope.key}#INV", index="GSI1"):
            yield invoices.from_item(item)
        for item in table.query_all(f"{scope.key}#PAY", index="GSI1"):
            yield payments.from_item(item)
        for item in table.query_all(f"{scope.key}#CN", index="GSI1"):
            yield credit_notes.from_item(item)
