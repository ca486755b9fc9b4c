"""One-off invoice items in the billing table.

- item: ``PK={scope}#II#{id}``, ``SK=II``; GSI1 ``{scope}#II`` lists a scope's items, GSI2
  ``{scope}#II#CUS#{customer}`` a customer's, newest first; GSI3
  ``{scope}#II#PENDING#{customer}`` holds it while it is pending (a sparse index: the write
  that bills it removes the entry), so a billing step finds a customer's pending items in one
  query however many were billed before.
- attributes: each field by its own short name (``to_item``); ``status`` (``pending`` /
  ``invoiced``) and ``customer`` are the ones the list indexes project.
- creating one checks the customer in the same transaction (not archived meanwhile, in the
  item's currency or none, a customer without one taking the item's: ``customers.subscribable``).
- billing an item is an ``Update`` in the transaction that writes its invoice, on the
  condition that no invoice billed it yet (``attribute_not_exists(inv)``): exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from billing.adapters.dynamodb import customers, outbox, table
from billing.collections.invoice_items import InvoiceItem, ItemQuery
from billing.errors import Conflict
from billing.events import DomainEvent
from billing.invoicing.finalization import Build
from billing.invoicing.model import Invoice
from billing.pagination import Page
from billing.scope import Scope

if TYPE_CHECKING:
    from billing.adapters.dynamodb.invoices import DynamoInvoiceRepository

_NEW = "attribute_not_exists(PK)"
FIELDS = {
    "customer": "customer", "amt": "amount", "cur": "currency", "d": "description", "sp": "supplier",
    "k": "kind", "src": "source_invoice", "inv": "invoice", "ca": "created_at", "lm": "livemode",
    "va": "voided_at",
}  # fmt: skip


def _key(scope: Scope, item_id: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#II#{item_id}", "SK": "II"}


def _pending_key(scope: Scope, customer: str) -> str:
    return f"{scope.key}#II#PENDING#{customer}"


def to_item(scope: Scope, item: InvoiceItem) -> dict[str, Any]:
    indexes = {
        "GSI1PK": f"{scope.key}#II",
        "GSI1SK": item.id,
        "GSI2PK": f"{scope.key}#II#CUS#{item.customer}",
        "GSI2SK": item.id,
    }
    if item.pending:
        indexes |= {"GSI3PK": _pending_key(scope, item.customer), "GSI3SK": item.id}
    fields = {short: getattr(item, name) for short, name in FIELDS.items()}
    return {
        **_key(scope, item.id), **indexes, **fields, "entity": "invoice_item", "id": item.id,
        "status": "void" if item.voided_at else "pending" if item.pending else "invoiced",
    }  # fmt: skip


def from_item(item: Mapping[str, Any]) -> InvoiceItem:
    fields = {name: item[short] for short, name in FIELDS.items() if item.get(short) is not None}
    return InvoiceItem(id=item["id"], **{**fields, "amount": int(item["amt"])})


def _ended(scope: Scope, item_id: str, sets: str, condition: str, values: dict[str, Any]) -> dict[str, Any]:
    """An update that takes a pending item out of the pending index (billed or voided) with
    ``sets``, if ``condition`` (always: not billed yet) holds."""
    return _update(scope, item_id, f"SET {sets} REMOVE GSI3PK, GSI3SK", f"attribute_not_exists(inv) AND {condition}",
                   values, {"#status": "status"})  # fmt: skip


def _update(
    scope: Scope, item_id: str, expression: str, condition: str, values: dict[str, Any], names: dict[str, str] | None
) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": table.table_name(),
        "Key": table.encode(_key(scope, item_id)),
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeValues": table.encode(values),
    }
    if names:
        update["ExpressionAttributeNames"] = names
    return {"Update": update}


def billed_updates(scope: Scope, invoice: Invoice) -> list[dict[str, Any]]:
    """The operations that mark the items ``invoice`` bills as billed by it, each failing the
    transaction if another invoice billed it first, or its amount changed since it was read
    (dunning raised the interest it holds): the step is retried with the item as it is."""
    return [
        _ended(
            scope,
            line.invoice_item,
            "inv = :inv, #status = :invoiced",
            "amt = :amt",
            {":inv": invoice.id, ":invoiced": "invoiced", ":amt": line.amount},
        )
        for line in invoice.lines
        if line.invoice_item
    ]


def void_updates(scope: Scope, items: Sequence[InvoiceItem], at: str) -> list[dict[str, Any]]:
    """The operations that void pending ``items`` (their invoice was voided), each failing the
    transaction if an invoice billed it meanwhile."""
    return [
        _ended(scope, item.id, "va = :at, #status = :void", "attribute_not_exists(va)", {":at": at, ":void": "void"})
        for item in items
    ]


def raise_amount(scope: Scope, item: InvoiceItem, before: int) -> dict[str, Any]:
    """Raise a pending item's amount from ``before`` (dunning's interest, day by day); fails if
    an invoice billed it meanwhile (or it changed)."""
    values = {":amt": item.amount, ":before": before}
    return _update(scope, item.id, "SET amt = :amt", "attribute_not_exists(inv) AND amt = :before", values, None)


_CONFLICTS = {
    0: Conflict("The invoice item exists.", code="concurrent_update", retryable=True),
    1: Conflict("The customer changed meanwhile (archived, or given another currency); retry.",
                code="concurrent_update", retryable=True),
}  # fmt: skip


class DynamoInvoiceItemStore:
    def __init__(self, invoices: DynamoInvoiceRepository):
        self._invoices = invoices

    def create(self, scope: Scope, item: InvoiceItem, events: Sequence[DomainEvent], set_currency: bool) -> None:
        """The item and its events in one transaction, with the customer's check (still not
        archived, in the item's currency or none: given it when ``set_currency``)."""
        operations = [*self._new(scope, item, set_currency), *outbox.put_events(events)]
        table.transact(operations, _CONFLICTS)

    def create_billed(
        self, scope: Scope, item: InvoiceItem, build: Build, events: Sequence[DomainEvent], set_currency: bool
    ) -> Invoice:
        """The item, already naming its invoice, with that invoice finalized as ``build``
        makes it (numbered, posted), in one transaction."""
        written = self._new(scope, item, set_currency)
        return self._invoices.create_finalized(scope, item.customer, build, written, events, _CONFLICTS)

    @staticmethod
    def _new(scope: Scope, item: InvoiceItem, set_currency: bool) -> list[dict[str, Any]]:
        check = customers.subscribable(scope, item.customer, item.currency, set_currency)
        return [table.put(to_item(scope, item), _NEW), check]

    def get(self, scope: Scope, item_id: str) -> InvoiceItem | None:
        found = table.get(_key(scope, item_id))
        return from_item(found) if found else None

    def list(self, scope: Scope, query: ItemQuery) -> Page[InvoiceItem]:
        index, key_value = table.list_index(
            [("GSI2", query.customer, f"{scope.key}#II#CUS#")], ("GSI1", f"{scope.key}#II")
        )
        start = table.after(_key(scope, query.page.starting_after or ""), index, key_value, query.page.starting_after)
        items, cursor = table.query_pages(index, f"{index}PK", key_value, start, query.page.limit)
        return Page.of((from_item(item) for item in items), cursor)

    def pending(self, scope: Scope, customer_id: str) -> Sequence[InvoiceItem]:
        """One ``Query`` of the sparse pending index (its items read consistently after)."""
        items = [from_item(item) for item in table.query_all(_pending_key(scope, customer_id), "GSI3")]
        return [item for item in items if item.pending]

    def of_customer(self, scope: Scope, customer_id: str) -> Sequence[InvoiceItem]:
        """Every item of the customer's, billed or not (what debts read)."""
        return [from_item(item) for item in table.query_all(f"{scope.key}#II#CUS#{customer_id}", "GSI2")]
