"""The invoice store against the embedded endpoint: invoices listed through indexes that
project keys and filters only, and items written in the older shape (the API's JSON) read
through every path."""

from __future__ import annotations

import json
from typing import Any

from billing import ledger
from billing.adapters.dynamodb import invoices as invoice_items
from billing.adapters.dynamodb import ledger as ledger_items
from billing.adapters.dynamodb import table
from billing.adapters.dynamodb.invoices import DynamoInvoiceRepository
from billing.ids import new_id
from billing.invoicing.lines import Line
from billing.invoicing.model import Invoice, InvoiceQuery
from billing.scope import Scope
from infra.local.stack import EmbeddedStack


def invoice(scope: Scope, customer: str, subscription: str, status: str, n: int) -> Invoice:
    lines = [Line(id=f"il_{n}", type="subscription_fee", description="Pro", amount=4900, plan="plan_pro")]
    return Invoice(
        id=new_id("inv"), livemode=scope.livemode, customer=customer, subscription=subscription, status=status,
        billing_reason="subscription_cycle", currency="USD", period_start=f"2026-0{n}-01T00:00:00Z",
        period_end=f"2026-0{n + 1}-01T00:00:00Z", created_at=f"2026-0{n}-01T00:00:00Z", lines=lines,
        subtotal=4900, total=4900, amount_due=4900,
    )  # fmt: skip


def older(item: dict[str, Any], public: dict[str, Any]) -> dict[str, Any]:
    """``item`` as written before invoices had a shape of their own: the API's JSON in ``data``."""
    return {**{k: v for k, v in item.items() if k != "body"}, "data": json.dumps(public)}


def test_invoices_old_and_new_are_listed_filtered_and_found(stack: EmbeddedStack) -> None:
    scope, customer, sub = Scope(new_id("ten"), False), new_id("cus"), new_id("sub")
    found = [invoice(scope, customer, sub, status, n) for n, status in enumerate(("open", "paid", "open"), start=1)]
    items = [invoice_items.to_item(scope, i) for i in found]
    items[0] = older(items[0], found[0].model_dump(mode="json"))
    table.batch_put(table.table_name(), items)
    repo = DynamoInvoiceRepository()
    by_id = sorted(found, key=lambda i: i.id, reverse=True)  # lists are newest first: by id
    assert repo.list(scope, InvoiceQuery(), 10, None).data == by_id
    opened = repo.list(scope, InvoiceQuery(customer=customer, status="open"), 10, None).data
    assert opened == [i for i in by_id if i.status == "open"]
    after = "2026-02-01T00:00:00Z"
    later = repo.list(scope, InvoiceQuery(subscription=sub, period_from=after), 10, None).data
    assert later == [i for i in by_id if i.period_start >= after] and len(later) == 2
    assert repo.get(scope, found[0].id) == found[0]
    assert sorted(repo.of_subscription(scope, sub), key=lambda i: i.id, reverse=True) == by_id


def test_journal_entries_old_and_new_are_read(stack: EmbeddedStack) -> None:
    scope, customer = Scope(new_id("ten"), True), new_id("cus")
    postings = (ledger.Posting("receivable", debit=100), ledger.Posting("revenue", credit=100))
    entries = [ledger.JournalEntry(customer, "USD", f"2026-0{n}-01T00:00:00Z", "test", "inv_1", postings)
               for n in (1, 2)]  # fmt: skip
    keys = {k: v for k, v in ledger_items.to_item(scope, entries[0]).items() if k in ("PK", "SK")}
    old = {**keys, "entity": "journal_entry", "data": json.dumps(entries[0].to_public())}
    table.batch_put(table.table_name(), [old, ledger_items.to_item(scope, entries[1])])
    assert list(ledger_items.journal(scope, customer)) == entries
