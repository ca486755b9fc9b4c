"""Credit notes in the billing table.

- credit note: ``PK={scope}#CN#{id}``, ``SK=CN``; GSI1 ``{scope}#CN`` lists them, GSI2
  ``{scope}#CN#INV#{invoice}`` by invoice, GSI3 ``{scope}#CN#CUS#{customer}`` by customer.
  The note, lines included, is one compressed ``body`` in the adapter's own shape
  (``CREDIT_NOTE``).
- number counter: ``PK={scope}#CNSEQ``, ``SK=CNSEQ`` (``numbering.py``), written with the
  note, the invoice it corrects (``revision = :previous``), its journal entry and events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from billing.adapters.dynamodb import invoices, ledger, numbering, outbox, table
from billing.adapters.dynamodb.shapes import Shape, known, pack, unpack
from billing.errors import Conflict
from billing.events import DomainEvent
from billing.invoicing.credit_notes import CreditNote, CreditNoteLine, CreditNoteQuery
from billing.invoicing.model import Invoice
from billing.ledger import JournalEntry
from billing.pagination import Page
from billing.scope import Scope


def _key(scope: Scope, credit_note_id: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#CN#{credit_note_id}", "SK": "CN"}


CREDIT_NOTE_LINE = Shape(
    CreditNoteLine,
    {"il": "invoice_line", "d": "description", "a": "amount", "sp": "supplier", "tx": "tax_amounts"},
    {"tax_amounts": invoices.TAX_AMOUNT},
)
CREDIT_NOTE = Shape(
    CreditNote,
    {
        "id": "id", "lm": "livemode", "no": "number", "inv": "invoice", "ino": "invoice_number",
        "cus": "customer", "cur": "currency", "rs": "reason", "memo": "memo", "l": "lines", "st": "subtotal",
        "tt": "tax_total", "t": "total", "aa": "amount_applied", "acc": "amount_credited_to_customer",
        "ca": "created_at",
    },
    {"lines": CREDIT_NOTE_LINE},
)  # fmt: skip


def to_item(scope: Scope, note: CreditNote) -> dict[str, Any]:
    return {
        **_key(scope, note.id),
        "GSI1PK": f"{scope.key}#CN",
        "GSI1SK": note.id,
        "GSI2PK": f"{scope.key}#CN#INV#{note.invoice}",
        "GSI2SK": note.id,
        "GSI3PK": f"{scope.key}#CN#CUS#{note.customer}",
        "GSI3SK": note.id,
        "entity": "credit_note",
        "body": pack(CREDIT_NOTE.dump(note)),
    }


def from_item(item: Mapping[str, Any]) -> CreditNote:
    if "body" in item:
        return CREDIT_NOTE.load(unpack(item["body"]))
    # Written before credit notes had a shape of their own (up to 0.x): the API's JSON in
    # ``data``, read leniently (fields the model no longer has are dropped).
    return CreditNote.model_validate(known(CreditNote, json.loads(item["data"])))


class DynamoCreditNoteRepository:
    def issue(
        self,
        scope: Scope,
        build: Callable[[int], tuple[CreditNote, Invoice, JournalEntry, Sequence[DomainEvent]]],
        invoice_revision: int,
    ) -> CreditNote:
        issued: list[CreditNote] = []

        def write(sequence: int, _: numbering.Found) -> list[dict[str, Any]]:
            note, invoice, journal, events = build(sequence)
            issued[:] = [note]
            return [
                table.put(invoices.to_item(scope, invoice), "revision = :r", {":r": invoice_revision}),
                table.put(to_item(scope, note), "attribute_not_exists(PK)"),
                *ledger.post(scope, journal),
                *outbox.put_events(events),
            ]

        changed = Conflict("The invoice changed meanwhile; retry.", code="concurrent_update", retryable=True)
        numbering.take({"PK": f"{scope.key}#CNSEQ", "SK": "CNSEQ"}, write, {0: changed})
        return issued[0]

    def get(self, scope: Scope, credit_note_id: str) -> CreditNote | None:
        item = table.get(_key(scope, credit_note_id))
        return from_item(item) if item else None

    def list(self, scope: Scope, query: CreditNoteQuery, limit: int, starting_after: str | None) -> Page[CreditNote]:
        by = [
            ("GSI2", query.invoice, f"{scope.key}#CN#INV#"),
            ("GSI3", query.customer, f"{scope.key}#CN#CUS#"),
        ]
        index, key_value = table.list_index(by, ("GSI1", f"{scope.key}#CN"))
        start = table.after(_key(scope, starting_after or ""), index, key_value, starting_after)
        items, cursor = table.query_pages(index, f"{index}PK", key_value, start, limit)
        notes = [from_item(item) for item in items]
        return Page.of(notes, cursor)
