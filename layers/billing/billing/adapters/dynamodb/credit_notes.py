"""Credit notes in the billing table.

- credit note: ``PK={scope}#CN#{id}``, ``SK=CN``; GSI1 ``{scope}#CN`` lists them, GSI2
  ``{scope}#CN#INV#{invoice}`` by invoice, GSI3 ``{scope}#CN#CUS#{customer}`` by customer.
- number counter: ``PK={scope}#CNSEQ``, ``SK=CNSEQ`` (``numbering.py``), written with the
  note, the invoice it corrects (``revision = :previous``), its journal entry and events.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from billing.adapters.dynamodb import invoices, ledger, numbering, outbox, table
from billing.errors import Conflict
from billing.events import DomainEvent
from billing.invoicing.credit_notes import CreditNote, CreditNoteQuery
from billing.invoicing.model import Invoice
from billing.ledger import JournalEntry
from billing.pagination import Page
from billing.scope import Scope


def _key(scope: Scope, credit_note_id: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#CN#{credit_note_id}", "SK": "CN"}


def _to_item(scope: Scope, note: CreditNote) -> dict[str, Any]:
    return {
        **_key(scope, note.id),
        "GSI1PK": f"{scope.key}#CN",
        "GSI1SK": note.id,
        "GSI2PK": f"{scope.key}#CN#INV#{note.invoice}",
        "GSI2SK": note.id,
        "GSI3PK": f"{scope.key}#CN#CUS#{note.customer}",
        "GSI3SK": note.id,
        "entity": "credit_note",
        "data": json.dumps(note.to_public(), separators=(",", ":")),
    }


class DynamoCreditNoteRepository:
    def issue(
        self,
        scope: Scope,
        build: Callable[[int], tuple[CreditNote, Invoice, JournalEntry, Sequence[DomainEvent]]],
        invoice_revision: int,
    ) -> CreditNote:
        issued: list[CreditNote] = []

        def write(sequence: int) -> list[dict[str, Any]]:
            note, invoice, journal, events = build(sequence)
            issued[:] = [note]
            return [
                table.put(invoices.to_item(scope, invoice), "revision = :r", {":r": invoice_revision}),
                table.put(_to_item(scope, note), "attribute_not_exists(PK)"),
                *ledger.post(scope, journal),
                *[outbox.put_event(event) for event in events],
            ]

        changed = Conflict("The invoice changed meanwhile; retry.", code="concurrent_update", retryable=True)
        numbering.take({"PK": f"{scope.key}#CNSEQ", "SK": "CNSEQ"}, write, {0: changed})
        return issued[0]

    def get(self, scope: Scope, credit_note_id: str) -> CreditNote | None:
        item = table.get(_key(scope, credit_note_id))
        return CreditNote.model_validate(json.loads(item["data"])) if item else None

    def list(self, scope: Scope, query: CreditNoteQuery, limit: int, starting_after: str | None) -> Page[CreditNote]:
        by = [
            ("GSI2", query.invoice, f"{scope.key}#CN#INV#"),
            ("GSI3", query.customer, f"{scope.key}#CN#CUS#"),
        ]
        index, key_value = table.list_index(by, ("GSI1", f"{scope.key}#CN"))
        start = table.after(_key(scope, starting_after or ""), index, key_value, starting_after)
        items, cursor = table.query_pages(index, f"{index}PK", key_value, start, limit)
        notes = [CreditNote.model_validate(json.loads(item["data"])) for item in items]
        return Page(data=notes, has_more=cursor is not None, next_starting_after=cursor)
