"""One-off invoice items: billed on the customer's next invoice, or at once on their own,
exactly once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from billing.adapters.dynamodb import invoice_items, table
from billing.collections.invoice_items import InvoiceItem, InvoiceItemCreate
from billing.errors import BillingError, Conflict
from billing.invoicing import previews
from billing.subscriptions import cycle
from billing.validation import parse
from tests.unit.invoicing_world import SCOPE, Billing

MARCH = datetime(2026, 3, 1, tzinfo=UTC)


def world() -> Billing:
    w = Billing(MARCH)
    w.create("plan", code="starter", name="Starter", currency="USD", interval="month", base_fee=1900)
    w.create("tax_rate", name="Sales tax CA", percent="10", country="US", region="CA")
    return w


def item(w: Billing, customer: str, amount: int = 1500, **body: object) -> InvoiceItem:
    request = parse(InvoiceItemCreate, {"customer": customer, "amount": amount, "currency": "USD",
                                        "description": "Setup work", **body})  # fmt: skip
    return w.invoice_items.create(SCOPE, request)


def test_a_pending_item_is_billed_on_the_next_invoice_and_only_there() -> None:
    w = world()
    cus = w.customer(address={"country": "US", "region": "CA"})
    sub = w.subscribe(cus, "starter")
    w.bill(sub)
    created = item(w, cus)
    assert created.pending and created.invoice is None
    w.at(datetime(2026, 4, 1, tzinfo=UTC))
    [april] = w.bill(sub)
    assert w.amounts(april) == [("subscription_fee", 1900), ("adjustment", 1500), ("tax", 340)]
    assert [line.invoice_item for line in april.lines if line.type == "adjustment"] == [created.id]
    assert w.invoice_items.get(SCOPE, created.id).invoice == april.id
    w.at(datetime(2026, 5, 1, tzinfo=UTC))
    [may] = w.bill(sub)
    assert w.amounts(may) == [("subscription_fee", 1900), ("tax", 190)]


def test_invoice_now_bills_the_item_alone_on_a_finalized_invoice() -> None:
    w = world()
    cus = w.customer(address={"country": "US", "region": "CA"})
    created = item(w, cus, 2500, invoice_now=True)
    invoice = w.invoices.get(SCOPE, created.invoice or "")
    assert (invoice.billing_reason, invoice.status, invoice.number) == ("manual", "open", "INV-2026-000001")
    assert w.amounts(invoice) == [("adjustment", 2500), ("tax", 250)]
    assert (invoice.total, invoice.due_date) == (2750, "2026-03-15T00:00:00Z")
    assert [e.type for e in w.invoices_repo.events[-3:]] == ["InvoiceItemCreated", "InvoiceCreated", "InvoiceFinalized"]
    sub = w.subscribe(cus, "starter")
    [first] = w.bill(sub)
    assert "adjustment" not in [t for t, _ in w.amounts(first)]


def test_two_invoices_racing_for_an_item_bill_it_once() -> None:
    w = world()
    cus = w.customer()
    a, b = w.subscribe(cus, "starter"), w.subscribe(cus, "starter")
    created = item(w, cus)
    subscription = w.subscription_repo.get(SCOPE, a)
    history = list(w.subscription_repo.history(SCOPE, a))
    step = cycle.next_step(subscription, w.lookups.plan(SCOPE, subscription.plan), history)
    outcome = w.biller.outcome(SCOPE, subscription, history, step)  # a's step takes the item ...
    assert [line.invoice_item for line in outcome.draft.lines if line.invoice_item] == [created.id]
    [billed_by_b] = w.bill(b)  # ... but b's is written first
    with pytest.raises(Conflict):
        w.invoices_repo.apply_step(SCOPE, outcome, subscription.revision)
    [billed_by_a] = w.bill(a)  # a's retry no longer sees it
    assert ("adjustment", 1500) in w.amounts(billed_by_b)
    assert ("adjustment", 1500) not in w.amounts(billed_by_a)


def test_late_fees_are_never_discounted() -> None:
    w = world()
    cus = w.customer(discounts=[{"name": "Veteran", "percent_off": "50"}])
    sub = w.subscribe(cus, "starter")
    fee = w.invoice_items.create(
        SCOPE, parse(InvoiceItemCreate, {"customer": cus, "amount": 700, "currency": "USD", "description": "Late fee"}),
        kind="late_fee", source_invoice="inv_01jqz8v6x5k3m2n1p0r9s8t7w6",
    )  # fmt: skip
    [first] = w.bill(sub)
    [late] = [line for line in first.lines if line.type == "late_fee"]
    assert (late.amount, late.discount_amount, late.invoice_item) == (700, 0, fee.id)
    [base] = [line for line in first.lines if line.type == "subscription_fee"]
    assert base.discount_amount == 950


def test_bad_items_are_refused_naming_the_field() -> None:
    w = world()
    cus = w.customer(currency="EUR")
    with pytest.raises(BillingError) as raised:
        item(w, cus)
    assert (raised.value.code, raised.value.param) == ("currency_mismatch", "currency")
    with pytest.raises(BillingError) as raised:
        item(w, w.customer(), supplier="water")
    assert raised.value.param == "supplier"
    with pytest.raises(BillingError) as raised:
        item(w, w.customer(), amount=0)
    assert raised.value.param == "amount"
    with pytest.raises(BillingError) as raised:
        item(w, "cus_01jqz8v6x5k3m2n1p0r9s8t7w6")
    assert raised.value.param == "customer"
    assert w.items_repo.rows == {}


def test_an_item_is_stored_in_its_own_shape_and_leaves_the_pending_index_when_billed() -> None:
    w = world()
    created = item(w, w.customer(), supplier=None)
    stored = table.decode(table.encode(invoice_items.to_item(SCOPE, created)))
    assert stored["GSI3PK"] == f"{SCOPE.key}#II#PENDING#{created.customer}" and stored["status"] == "pending"
    assert invoice_items.from_item(stored) == created
    billed = created.model_copy(update={"invoice": "inv_01kn00000000000000000000aa"})
    stored = table.decode(table.encode(invoice_items.to_item(SCOPE, billed)))
    assert "GSI3PK" not in stored and stored["status"] == "invoiced"
    assert invoice_items.from_item(stored) == billed


def test_previews_show_a_pending_item_once_and_leave_it_pending() -> None:
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "starter")
    w.bill(sub)
    created = item(w, cus)
    upcoming = previews.upcoming(w.biller, SCOPE, w.subscription_repo.get(SCOPE, sub))
    assert ("adjustment", 1500) in w.amounts(upcoming)
    ahead = w.biller.dry_run().bill(SCOPE, sub, datetime(2026, 6, 1, tzinfo=UTC))  # April, May, June
    assert [("adjustment", 1500) in w.amounts(invoice) for invoice in ahead] == [True, False, False]
    assert w.invoice_items.get(SCOPE, created.id).pending
