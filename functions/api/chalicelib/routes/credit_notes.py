"""``/v1/credit_notes``: corrections of finalized invoices. The views import the domain's
models when first called, as the services load (``billing.adapters.services``)."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import credit_notes
from chalicelib.http import Call, route

LIST_QUERY = frozenset({"limit", "starting_after", "invoice", "customer"})


@route("/v1/credit_notes", methods=("POST",))
def create_credit_note(call: Call) -> tuple[int, dict[str, Any]]:
    from billing.invoicing.credit_notes import CreditNoteCreate

    return 201, credit_notes().create(call.scope, call.body(CreditNoteCreate)).to_public()


@route("/v1/credit_notes", query=LIST_QUERY)
def list_credit_notes(call: Call) -> dict[str, Any]:
    from billing.invoicing.credit_notes import CreditNoteQuery

    listed = credit_notes().list(call.scope, CreditNoteQuery.from_params(call.query))
    return listed.to_public(lambda note: note.to_public())


@route("/v1/credit_notes/{credit_note_id}")
def get_credit_note(call: Call) -> dict[str, Any]:
    return credit_notes().get(call.scope, call.params["credit_note_id"]).to_public()
