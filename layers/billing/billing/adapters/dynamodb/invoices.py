"""Invoices, the invoice number counter and the ledger journal in the billing table.

- invoice: ``PK={scope}#INV#{id}``, ``SK=INV``; GSI1 ``{scope}#INV`` lists them, GSI2
  ``{scope}#INV#CUS#{customer}`` by customer, GSI3 ``{scope}#INV#SUB#{subscription}`` by
  subscription, newest first by id; GSI4 (``due.py``) holds drafts until they finalize.
- number counter: ``PK={scope}#INVSEQ``, ``SK=INVSEQ``, ``n`` = the last number issued. A
  finalization writes the counter (``n = :previous``) and the invoice in one transaction, so
  a number is used exactly when an invoice takes it: no gaps, no duplicates, even when
  finalizations race (the loser reads the counter again and retries).
- journal entries and balances: ``ledger.py``, written in the transaction of the document
  that posts them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from billing.adapters.dynamodb import due, ledger, numbering, outbox, subscriptions, table
from billing.errors import Conflict
from billing.events import DomainEvent
from billing.invoicing.model import Invoice, InvoiceQuery
from billing.ledger import JournalEntry
from billing.pagination import Page
from billing.scope import Scope
from billing.subscriptions.model import HistoryEntry, Subscription

_NEW = "attribute_not_exists(PK)"


def _key(scope: Scope, invoice_id: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#INV#{invoice_id}", "SK": "INV"}


def _counter_key(scope: Scope) -> dict[str, str]:
    return {"PK": f"{scope.key}#INVSEQ", "SK": "INVSEQ"}


def to_item(scope: Scope, invoice: Invoice) -> dict[str, Any]:
    indexes = {
        "GSI1PK": f"{scope.key}#INV",
        "GSI1SK": invoice.id,
        "GSI2PK": f"{scope.key}#INV#CUS#{invoice.customer}",
        "GSI2SK": invoice.id,
    }
    if invoice.subscription:
        indexes |= {"GSI3PK": f"{scope.key}#INV#SUB#{invoice.subscription}", "GSI3SK": invoice.id}
    finalize_at = invoice.finalize_at if invoice.status == "draft" else None
    return {
        **_key(scope, invoice.id),
        **indexes,
        **due.keys(scope, "inv", invoice.id, finalize_at, invoice.test_clock),
        "entity": "invoice",
        "status": invoice.status,
        "customer": invoice.customer,
        "period_start": invoice.period_start,
        "revision": invoice.revision,
        "data": json.dumps(invoice.model_dump(mode="json"), separators=(",", ":")),
    }


def from_item(item: dict[str, Any]) -> Invoice:
    return Invoice.model_validate({**json.loads(item["data"]), "revision": int(item["revision"])})


def _changed() -> Conflict:
    return Conflict("The invoice was changed by another request; retry.", code="concurrent_update", retryable=True)


class DynamoInvoiceRepository:
    def apply_step(
        self,
        scope: Scope,
        subscription: Subscription,
        revision: int,
        invoice: Invoice | None,
        history: HistoryEntry | None,
        events: Sequence[DomainEvent],
    ) -> None:
        operations = [table.put(subscriptions.to_item(scope, subscription), "revision = :r", {":r": revision})]
        if history:
            operations.append(subscriptions.history_put(scope, subscription, history))
        if invoice:
            operations.append(table.put(to_item(scope, invoice), _NEW))
        operations += [outbox.put_event(event) for event in events]
        moved = Conflict(
            "The subscription changed while it was billed; retry.", code="concurrent_update", retryable=True
        )
        table.transact(operations, {0: moved})

    def get(self, scope: Scope, invoice_id: str) -> Invoice | None:
        item = table.get(_key(scope, invoice_id))
        return from_item(item) if item else None

    def list(self, scope: Scope, query: InvoiceQuery, limit: int, starting_after: str | None) -> Page[Invoice]:
        by = [
            ("GSI3", query.subscription, f"{scope.key}#INV#SUB#"),
            ("GSI2", query.customer, f"{scope.key}#INV#CUS#"),
        ]
        index, key_value = table.list_index(by, ("GSI1", f"{scope.key}#INV"))
        start = table.after(_key(scope, starting_after or ""), index, key_value, starting_after)
        conditions: list[str] = []
        names: dict[str, str] = {}
        values: dict[str, str] = {}
        if query.status:
            conditions.append("#status = :status")
            names["#status"], values[":status"] = "status", query.status
        if query.customer and index == "GSI3":
            conditions.append("customer = :customer")
            values[":customer"] = query.customer
        if query.period_from:
            conditions.append("period_start >= :from")
            values[":from"] = query.period_from
        if query.period_to:
            conditions.append("period_start < :to")
            values[":to"] = query.period_to
        items, cursor = table.query_pages(
            index,
            f"{index}PK",
            key_value,
            start,
            limit,
            " AND ".join(conditions) or None,
            names or None,
            values or None,
        )
        return Page(data=[from_item(item) for item in items], has_more=cursor is not None, next_starting_after=cursor)

    def finalize(
        self,
        scope: Scope,
        invoice: Invoice,
        revision: int,
        number_for: Callable[[int], str],
        post: Callable[[Invoice], tuple[JournalEntry, Sequence[DomainEvent]]],
    ) -> Invoice:
        """Give ``invoice`` the next number and write it with what it posts, at once."""
        written: list[Invoice] = []

        def write(sequence: int) -> list[dict[str, Any]]:
            numbered = invoice.model_copy(update={"number": number_for(sequence)})
            journal, events = post(numbered)
            written[:] = [numbered]
            return [
                table.put(to_item(scope, numbered), "revision = :r", {":r": revision}),
                *ledger.post(scope, journal),
                *[outbox.put_event(event) for event in events],
            ]

        numbering.take(_counter_key(scope), write, {0: _changed()})
        return written[0]

    def post(
        self, scope: Scope, invoice: Invoice, revision: int, journal: JournalEntry, events: Sequence[DomainEvent]
    ) -> None:
        """Write a change of a finalized invoice (a void) with the entry it posts."""
        operations = [
            table.put(to_item(scope, invoice), "revision = :r", {":r": revision}),
            *ledger.post(scope, journal),
            *[outbox.put_event(event) for event in events],
        ]
        table.transact(operations, {0: _changed()})

    def of_subscription(self, scope: Scope, subscription_id: str) -> Sequence[Invoice]:
        return [from_item(item) for item in table.query_all(f"{scope.key}#INV#SUB#{subscription_id}", "GSI3")]

    def journal(self, scope: Scope, customer: str) -> Sequence[JournalEntry]:
        return ledger.journal(scope, customer)

    def balances(self, scope: Scope, customer: str) -> dict[str, int]:
        return ledger.balances(scope, customer)
