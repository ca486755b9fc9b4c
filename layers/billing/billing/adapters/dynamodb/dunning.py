"""Dunning records and open invoices in the billing table.

- dunning record: ``PK={scope}#INV#{invoice_id}``, ``SK=DUN``, beside its invoice: ``done`` (the
  keys of the steps taken, ``{invoice}#{days_after_due}#{action}``), ``ic`` (the interest
  charged for the invoice in all), ``pii`` (the pending interest item the run raises), ``acc``
  (the interest accrued, exact, a ``"p/q"`` string: never a float), ``accd`` (through which day
  of delay), ``top`` (the largest principal it accrued on, for the cap), ``revision``. Written
  with ``revision = :r`` in the transaction of each step's effects, so a step is taken once
  however often a run is retried.
- open invoices: the due index (``due.py``, ``{scope}#OPEN#...``), read page by page, then
  the invoices and their records in one ``BatchGetItem`` per page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from fractions import Fraction
from typing import Any

from billing.adapters.dynamodb import customers, due, invoice_items, invoices, ledger, outbox, table
from billing.collections.dunning import DunningRecord, DunningWrite
from billing.invoicing.model import Invoice
from billing.scope import Scope


def _key(scope: Scope, invoice_id: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#INV#{invoice_id}", "SK": "DUN"}


def to_item(scope: Scope, record: DunningRecord) -> dict[str, Any]:
    return {
        **_key(scope, record.invoice), "entity": "dunning_record", "done": sorted(record.done),
        "ic": record.interest_charged, "pii": record.interest_item, "acc": str(record.accrued),
        "accd": record.accrued_days, "top": record.top_principal, "revision": record.revision,
    }  # fmt: skip


def from_item(item: dict[str, Any]) -> DunningRecord:
    invoice_id = item["PK"].rsplit("#", 1)[1]
    return DunningRecord(
        invoice_id, frozenset(item.get("done", [])), int(item.get("ic", 0)), item.get("pii"),
        Fraction(item.get("acc", "0")), int(item.get("accd", 0)), int(item.get("top", 0)), int(item["revision"]),
    )  # fmt: skip


def _record_put(scope: Scope, write: DunningWrite) -> dict[str, Any]:
    if write.revision == 0:
        return table.put(to_item(scope, write.record), "attribute_not_exists(PK)")
    return table.put(to_item(scope, write.record), "revision = :r", {":r": write.revision})


def _still_open(scope: Scope, invoice: Invoice) -> dict[str, Any]:
    return {
        "ConditionCheck": {
            "TableName": table.table_name(),
            "Key": table.encode({"PK": f"{scope.key}#INV#{invoice.id}", "SK": "INV"}),
            "ConditionExpression": "revision = :r AND #status = :open",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": table.encode({":r": invoice.revision, ":open": "open"}),
        }
    }


class DynamoDunningStore:
    def __init__(self, invoices: invoices.DynamoInvoiceRepository):
        self._invoices = invoices

    def records(self, scope: Scope, invoice_ids: Sequence[str]) -> dict[str, DunningRecord]:
        found = table.batch_get(table.table_name(), [_key(scope, i) for i in invoice_ids], projection=None)
        return {record.invoice: record for record in map(from_item, found)}

    def write(self, scope: Scope, write: DunningWrite) -> None:
        operations = [_record_put(scope, write)]
        if write.raised_item:
            operations.append(invoice_items.raise_amount(scope, write.raised_item.item, write.raised_item.before))
        if write.customer:
            operations.append(customers.suspend(scope, write.customer, write.suspension))
        if write.invoice:  # written off: put on the condition that it is still as read
            previous = write.source.revision
            operations.append(table.put(invoices.to_item(scope, write.invoice), "revision = :r", {":r": previous}))
            if write.journal:
                operations += ledger.post(scope, write.journal)
        else:
            operations.append(_still_open(scope, write.source))
        item = write.new_item
        if item and write.own_invoice:
            written = [*operations, table.put(invoice_items.to_item(scope, item), "attribute_not_exists(PK)")]
            self._invoices.create_finalized(scope, item.customer, write.own_invoice, written, write.events)
            return
        if item:
            operations.append(table.put(invoice_items.to_item(scope, item), "attribute_not_exists(PK)"))
        table.transact([*operations, *outbox.put_events(write.events)], {})


class DynamoOpenInvoices:
    shards = due.SHARDS

    def due_by(self, scope: Scope, until: date, clock: str | None, shard: int | None = None) -> Iterator[list[Invoice]]:
        """Page by page (100 index entries), the invoices with a due date by ``until``."""
        partitions = due.partitions(scope, clock, due.OPEN)
        for partition in partitions if shard is None or clock else [partitions[shard]]:
            start: dict[str, Any] | None = None
            while True:
                entries, start = due.due(partition, f"{until.isoformat()}T23:59:59~", start)
                ids = [object_id for _, _, object_id in entries]
                found = table.get_many([{"PK": f"{scope.key}#INV#{i}", "SK": "INV"} for i in ids]) if ids else []
                page = [invoices.from_item(item) for item in found if item is not None and item["status"] == "open"]
                if page:
                    yield page
                if start is None:
                    break
