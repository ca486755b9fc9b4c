"""Invoices and the invoice number counter in the billing table.

- invoice: ``PK={scope}#INV#{id}``, ``SK=INV``; GSI1 ``{scope}#INV`` lists them, GSI2
  ``{scope}#INV#CUS#{customer}`` by customer, GSI3 ``{scope}#INV#SUB#{subscription}`` by
  subscription, newest first by id; GSI4 (``due.py``) holds drafts until they finalize, then
  open invoices with a due date (for dunning). The item holds what list queries filter on
  (``status``, ``customer``, ``period_start``, the only attributes the list indexes project
  besides the keys) and ``revision``; the rest, lines included, is one compressed ``body`` in
  the adapter's own shape (``INVOICE``).
- number counter: ``PK={scope}#INVSEQ``, ``SK=INVSEQ``, ``n`` = the last number issued. A
  finalization writes the counter (``n = :previous``) and the invoice in one transaction, so
  a number is used exactly when an invoice takes it: no gaps, no duplicates, even when
  finalizations race (the loser reads the counter again and retries).
- journal entries and balances: ``ledger.py``, written in the transaction of the document
  that posts them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from billing.adapters.dynamodb import due, invoice_items, ledger, numbering, outbox, subscriptions, table
from billing.adapters.dynamodb.shapes import Shape, known, pack, unpack
from billing.catalog.tax_rates import AppliedTaxRate
from billing.collections.invoice_items import InvoiceItem
from billing.errors import Conflict
from billing.events import DomainEvent
from billing.invoicing.biller import Outcome
from billing.invoicing.finalization import Build
from billing.invoicing.lines import Line, TaxAmount
from billing.invoicing.model import Invoice, InvoiceQuery, UsageBasis
from billing.ledger import JournalEntry
from billing.pagination import Page
from billing.scope import Scope

_NEW = "attribute_not_exists(PK)"

TAX_AMOUNT = Shape(TaxAmount, {"r": "tax_rate", "n": "name", "p": "percent", "i": "inclusive", "a": "amount"})
LINE = Shape(
    Line,
    {
        "id": "id", "t": "type", "d": "description", "a": "amount", "q": "quantity", "u": "unit_amount",
        "m": "meter", "pl": "plan", "ao": "add_on", "sp": "supplier", "ps": "period_start", "pe": "period_end",
        "da": "discount_amount", "tx": "tax_amounts", "b": "breakdown", "tr": "tax_rate", "in": "inclusive",
        "dc": "discount", "dn": "discountable", "pr": "prorates", "ii": "invoice_item",
    },
    {"tax_amounts": TAX_AMOUNT},
)  # fmt: skip
USAGE = Shape(UsageBasis, {"pl": "plan", "ps": "period_start", "pe": "period_end", "l": "later"})
TAX_RATE = Shape(AppliedTaxRate, {"id": "id", "n": "name", "p": "percent", "i": "inclusive"})
INVOICE = Shape(
    Invoice,
    {
        "id": "id", "lm": "livemode", "sub": "subscription", "no": "number", "br": "billing_reason",
        "cur": "currency", "pe": "period_end", "ca": "created_at", "ia": "issued_at", "dd": "due_date",
        "fa": "finalize_at", "va": "voided_at", "l": "lines", "st": "subtotal", "dt": "discount_total",
        "tt": "tax_total", "t": "total", "ap": "amount_paid", "ac": "amount_credited", "ad": "amount_due",
        "sb": "starting_balance", "abl": "applied_balance", "eb": "ending_balance", "lc": "line_credits",
        "rd": "rounding", "cd": "customer_details", "ds": "discounts", "trs": "tax_rates", "u": "usage",
        "tc": "test_clock", "spd": "supplier_paid", "awo": "amount_written_off",
    },
    {"lines": LINE, "usage": USAGE, "tax_rates": TAX_RATE},
)  # fmt: skip
"""The invoice as stored; ``status``, ``customer``, ``period_start`` and ``revision`` are
attributes of the item itself."""


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
    if invoice.status == "draft":
        indexes |= due.keys(scope, "inv", invoice.id, invoice.finalize_at, invoice.test_clock)
    elif invoice.status == "open":
        indexes |= due.keys(scope, "inv", invoice.id, invoice.due_date, invoice.test_clock, due.OPEN)
    return {
        **_key(scope, invoice.id),
        **indexes,
        "entity": "invoice",
        "status": invoice.status,
        "customer": invoice.customer,
        "period_start": invoice.period_start,
        "revision": invoice.revision,
        "body": pack(INVOICE.dump(invoice)),
    }


def from_item(item: Mapping[str, Any]) -> Invoice:
    top = {
        "status": item["status"],
        "customer": item["customer"],
        "period_start": item["period_start"],
        "revision": int(item["revision"]),
    }
    if "body" in item:
        return INVOICE.load(unpack(item["body"]), **top)
    # Written before invoices had a shape of their own (up to 0.x): the API's JSON in ``data``,
    # read leniently (fields the model no longer has are dropped).
    return Invoice.model_validate({**known(Invoice, json.loads(item["data"])), **top})


def _changed() -> Conflict:
    return Conflict("The invoice was changed by another request; retry.", code="concurrent_update", retryable=True)


def _moved() -> Conflict:
    return Conflict("The subscription changed while it was billed; retry.", code="concurrent_update", retryable=True)


class DynamoInvoiceRepository:
    def apply_step(
        self, scope: Scope, outcome: Outcome, revision: int, finalize: Build | None = None
    ) -> Invoice | None:
        """The step in one transaction: the subscription (if still at ``revision``), its history
        entry, its invoice (finalized as ``finalize`` builds it: numbered, with the journal entry
        it posts), the invoice items it bills (if still pending) and one outbox record of every
        event."""
        sub, invoice = outcome.subscription, outcome.invoice
        step = [table.put(subscriptions.to_item(scope, sub), "revision = :r", {":r": revision})]
        if outcome.history:
            step.append(subscriptions.history_put(scope, sub, outcome.history))
        if invoice:
            step += invoice_items.billed_updates(scope, invoice)
        if invoice is None or finalize is None:
            drafted = [table.put(to_item(scope, invoice), _NEW)] if invoice else []
            table.transact([*step, *drafted, *outbox.put_events(outcome.events)], {0: _moved()})
            return invoice
        return self.create_finalized(scope, invoice.customer, finalize, step, outcome.events, {0: _moved()})

    def create_finalized(
        self,
        scope: Scope,
        customer: str,
        build: Build,
        with_: Sequence[dict[str, Any]] = (),
        events: Sequence[DomainEvent] = (),
        conflicts: Mapping[int, Exception] | None = None,
    ) -> Invoice:
        """Write a new invoice finalized as ``build`` makes it from the customer's balances and
        the next number, with its journal entry, in one transaction with the operations
        ``with_`` (``conflicts`` maps their indexes to errors) and one outbox record of
        ``events`` and the finalization's."""
        written: list[Invoice] = []

        def write(sequence: int, found: Sequence[dict[str, Any] | None]) -> list[dict[str, Any]]:
            done = build(ledger.balances_of(found[0]), sequence)
            written[:] = [done.invoice]
            recorded = outbox.put_events([*events, *done.events])
            posted = ledger.post(scope, done.journal, ledger.release_of(found[0], done.invoice))
            return [*with_, table.put(to_item(scope, done.invoice), _NEW), *posted, *recorded]

        numbering.take(_counter_key(scope), write, conflicts or {}, [ledger.balances_key(scope, customer)])
        return written[0]

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
        return Page.of((from_item(item) for item in items), cursor)

    def finalize(self, scope: Scope, draft: Invoice, build: Build) -> Invoice:
        """Number ``draft`` and write it with what it posts, at once (see ``numbering``)."""
        written: list[Invoice] = []

        def write(sequence: int, found: Sequence[dict[str, Any] | None]) -> list[dict[str, Any]]:
            done = build(ledger.balances_of(found[0]), sequence)
            written[:] = [done.invoice]
            final = table.put(to_item(scope, done.invoice), "revision = :r", {":r": draft.revision})
            posted = ledger.post(scope, done.journal, ledger.release_of(found[0], done.invoice))
            return [final, *posted, *outbox.put_events(done.events)]

        numbering.take(_counter_key(scope), write, {0: _changed()}, [ledger.balances_key(scope, draft.customer)])
        return written[0]

    def post(
        self,
        scope: Scope,
        invoice: Invoice,
        revision: int,
        journal: JournalEntry,
        events: Sequence[DomainEvent],
        voided_items: Sequence[InvoiceItem] = (),
    ) -> None:
        """Write a change of a finalized invoice (a void) with the entry it posts, and the
        pending items it voids (its late fees and interest)."""
        at = invoice.voided_at or ""
        operations = [
            table.put(to_item(scope, invoice), "revision = :r", {":r": revision}),
            *ledger.post(scope, journal),
            *invoice_items.void_updates(scope, voided_items, at),
            *outbox.put_events(events),
        ]
        table.transact(operations, {0: _changed()})

    def open_of(self, scope: Scope, customer_id: str) -> Sequence[Invoice]:
        return [
            from_item(item) for item in table.query_all(f"{scope.key}#INV#CUS#{customer_id}", "GSI2", status="open")
        ]

    def unsettled_of(self, scope: Scope, customer_id: str) -> Sequence[Invoice]:
        """The customer's open and written-off invoices (what it still owes, in the books or not)."""
        key = f"{scope.key}#INV#CUS#{customer_id}"
        return [from_item(item) for item in table.query_all(key, "GSI2", status=("open", "uncollectible"))]

    def of_subscription(self, scope: Scope, subscription_id: str) -> Sequence[Invoice]:
        return [from_item(item) for item in table.query_all(f"{scope.key}#INV#SUB#{subscription_id}", "GSI3")]

    def journal(self, scope: Scope, customer: str) -> Sequence[JournalEntry]:
        return ledger.journal(scope, customer)

    def balances(self, scope: Scope, customer: str) -> dict[str, int]:
        return ledger.balances(scope, customer)
