"""The invoicing adapters store their own item shapes (the others: ``test_stored_shapes``):
what they write reads back as it was, items written in the older shape (the API's JSON) are
still read, and an invoice is stored once, compactly."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bench._capacity import size, value_size
from billing.adapters.dynamodb import credit_notes, invoice_runs, invoices, ledger, outbox, subscriptions, table
from billing.events import DomainEvent
from billing.invoicing.credit_notes import CreditNoteCreate
from billing.invoicing.model import Invoice
from billing.invoicing.runs import Failure, InvoiceRun
from billing.scope import Scope
from billing.validation import parse
from tests.unit.invoicing_world import SCOPE, Billing
from tests.unit.test_finalization_at_once import story, world

JAN = datetime(2026, 1, 1, tzinfo=UTC)


def stored(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` as DynamoDB gives it back (numbers as ``Decimal``, binaries as ``Binary``)."""
    return table.decode(table.encode(item))


def billed() -> Billing:
    """Invoices of every kind of line: fees, a coupon, tax, a downgrade's credit (with what it
    prorates), usage, customer credit used; and a draft still waiting for late usage."""
    w = world()
    first = story(w, w.bill)[0]
    assert first.subscription
    w.send(first.customer, "calls", datetime(2026, 3, 20, tzinfo=UTC), "c2")
    w.at(datetime(2026, 4, 2, tzinfo=UTC))
    w.bill(first.subscription, finalize=False)
    return w


def all_invoices(w: Billing) -> list[Invoice]:
    return [invoice for invoice in w.invoices_repo.rows.values() if isinstance(invoice, Invoice)]


def test_invoices_and_journal_entries_read_back_as_they_were_written() -> None:
    w = billed()
    found = all_invoices(w)
    assert {i.status for i in found} == {"open", "paid", "draft"} and any(i.usage for i in found)
    assert any(line.prorates for i in found for line in i.lines) and any(i.applied_balance for i in found)
    for invoice in found:
        assert invoices.from_item(stored(invoices.to_item(SCOPE, invoice))) == invoice
    for entry in w.invoices.journal(SCOPE, found[0].customer):
        assert ledger.from_item(stored(ledger.to_item(SCOPE, entry))) == entry


def test_credit_notes_and_runs_read_back_as_they_were_written() -> None:
    w = billed()
    paid = next(i for i in all_invoices(w) if i.status == "open")
    request = {"invoice": paid.id, "reason": "billing_error", "memo": "Sorry"}
    note = w.credit_notes.create(SCOPE, parse(CreditNoteCreate, request))
    assert credit_notes.from_item(stored(credit_notes.to_item(SCOPE, note))) == note
    run = InvoiceRun(id="run_1", livemode=False, trigger="api", as_of="2026-01-01T00:00:00Z",
                     filters={"region": "CA"}, created_at="2026-01-01T00:00:00Z")  # fmt: skip
    failure = Failure(id="sub_1", code="cannot_be_rated", message="no price")
    run = run.model_copy(update={"pending": 2})
    item = {**invoice_runs.to_item(SCOPE, run), "failures": [invoice_runs.FAILURE.dump(failure)]}
    progress = {"messages_done": 0, "messages_total": 2}  # the two first messages, none done
    assert invoice_runs.from_item(stored(item)) == run.model_copy(update={"failures": [failure], "progress": progress})


def test_items_written_in_the_older_shape_are_still_read() -> None:
    w = billed()
    for invoice in all_invoices(w):  # the API's JSON in ``data``, with a field it has since dropped
        old = {"PK": "x", "SK": "INV", "status": invoice.status, "customer": invoice.customer,
               "period_start": invoice.period_start, "revision": invoice.revision,
               "data": json.dumps({**invoice.model_dump(mode="json"), "dropped_since": 1})}  # fmt: skip
        assert invoices.from_item(stored(old)) == invoice
    paid = next(i for i in all_invoices(w) if i.status == "open")
    note = w.credit_notes.create(SCOPE, parse(CreditNoteCreate, {"invoice": paid.id}))
    assert credit_notes.from_item(stored({"data": json.dumps(note.to_public())})) == note
    entry = w.invoices.journal(SCOPE, paid.customer)[0]
    assert ledger.from_item(stored({"PK": "x", "SK": "y", "data": json.dumps(entry.to_public())})) == entry
    run = {"id": "run_1", "object": "invoice_run", "livemode": True, "trigger": "schedule",
           "as_of": "2026-01-01T00:00:00Z", "filters": {}, "created_at": "2026-01-01T00:00:00Z"}  # fmt: skip
    item = {"data": json.dumps(run), "status": "completed", "pending": 0, "c_invoices_created": 3}
    read = invoice_runs.from_item(stored(item))
    assert (read.trigger, read.status, read.counts["invoices_created"]) == ("schedule", "completed", 3)


def test_an_outbox_record_keeps_its_data_compressed_and_gives_it_back_from_any_image() -> None:
    data = {"object": {"id": "inv_1", "lines": [{"description": "API calls"}] * 20}}
    event = DomainEvent(type="InvoiceFinalized", scope=SCOPE, occurred_at=JAN, data=data)
    item = stored(outbox.to_item([event]))
    assert len(bytes(item["zevents"])) < len(json.dumps(event.envelope())) / 4
    assert outbox.envelopes_of(item) == [event.envelope()]  # as boto3 reads it (the local plumbing)
    as_lambda = {**item, "zevents": base64.b64encode(bytes(item["zevents"])).decode()}  # a Lambda event's JSON
    assert outbox.envelopes_of(as_lambda) == [event.envelope()]
    older = {"tenant_id": SCOPE.tenant_id, "livemode": False, "id": event.id, "event_type": event.type,
             "occurred_at": JAN.isoformat()}  # fmt: skip
    assert outbox.from_item({**older, "zdata": outbox.pack(data)}) == [event]  # one event per record
    assert outbox.from_item({**older, "data": json.dumps(data)}) == [event]  # before the data was compressed


def test_the_events_of_a_step_share_one_record() -> None:
    """A renewal finalized at once records three events, two of which carry its invoice: one
    record, in their order, where the invoice's repetition costs next to nothing."""
    w = billed()
    types = ["SubscriptionRenewed", "InvoiceCreated", "InvoiceFinalized"]
    recorded = w.invoices_repo.events
    steps = [recorded[n : n + 3] for n in range(len(recorded) - 2) if [e.type for e in recorded[n : n + 3]] == types]
    assert steps
    for events in steps:
        one = size(table.encode(outbox.to_item(events)))
        apart = sum(size(table.encode(outbox.to_item([event]))) for event in events)
        assert one < 0.6 * apart
        assert outbox.from_item(table.decode(table.encode(outbox.to_item(events)))) == events


def test_an_invoice_is_stored_once_and_compactly() -> None:
    """Its lines are in the item only (the list indexes project keys and filters), and an
    invoice of a fee, a usage charge and a tax fits one write unit (1 KB)."""
    w = billed()
    invoice = next(i for i in all_invoices(w) if i.status != "draft" and {"usage", "tax"} <= {x.type for x in i.lines})
    item = table.encode(invoices.to_item(SCOPE, invoice))
    size = sum(len(name.encode()) + value_size(value) for name, value in item.items())
    assert size < 1024 < len(json.dumps(invoice.to_public()))
    assert set(item) - {"body"} == {
        "PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK",
        "entity", "status", "customer", "period_start", "revision",
    }  # fmt: skip
    assert isinstance(item["revision"]["N"], str) and Decimal(item["revision"]["N"]) == invoice.revision


def test_a_billed_subscription_fits_one_write_unit_and_reads_back() -> None:
    """Every billing step writes its subscription in a transaction, two units per KB: the
    fields at their defaults are left out of the item and read back as they were."""
    w = billed()
    scope = Scope("ten_01m8s80fcbmca0r4g3x48eaxn0", livemode=False)  # an id as long as a real one
    for sub_id in {i.subscription for i in all_invoices(w) if i.subscription}:
        sub = w.subscription_repo.get(SCOPE, sub_id)
        assert sub and sub.invoiced_through
        item = table.encode(subscriptions.to_item(scope, sub))
        assert sum(len(name.encode()) + value_size(value) for name, value in item.items()) < 1024
        assert subscriptions.from_item(scope, stored(subscriptions.to_item(scope, sub))) == sub.model_copy(
            update={"livemode": False}
        )
