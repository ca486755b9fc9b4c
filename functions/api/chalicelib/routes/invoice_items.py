"""``/v1/invoice_items``: one-off charges billed on a customer's next invoice, or at once on
an invoice of their own (``billing.collections.items``)."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import invoice_items
from chalicelib.http import Call, route

LIST_QUERY = frozenset({"limit", "starting_after", "customer"})


@route("/v1/invoice_items", methods=("POST",))
def create_invoice_item(call: Call) -> tuple[int, dict[str, Any]]:
    from billing.collections.invoice_items import InvoiceItemCreate

    return 201, invoice_items().create(call.scope, call.body(InvoiceItemCreate)).to_public()


@route("/v1/invoice_items", query=LIST_QUERY)
def list_invoice_items(call: Call) -> dict[str, Any]:
    from billing.collections.invoice_items import ItemQuery

    return invoice_items().list(call.scope, ItemQuery.from_params(call.query)).to_public(lambda i: i.to_public())


@route("/v1/invoice_items/{item_id}")
def get_invoice_item(call: Call) -> dict[str, Any]:
    return invoice_items().get(call.scope, call.params["item_id"]).to_public()
