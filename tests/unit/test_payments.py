"""Payments recorded offline: allocation oldest first and over suppliers, customer credit
from the excess (used by the next invoice), the ledger balanced, refusals naming the field."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from billing import ledger
from billing.errors import BillingError, NotFound
from billing.ids import new_id
from billing.invoicing.model import Invoice
from billing.payments import service
from billing.payments.allocation import split
from billing.payments.model import PaymentCreate, PaymentQuery
from billing.validation import parse
from tests.unit.invoicing_world import SCOPE, Billing

MARCH = datetime(2026, 3, 1, tzinfo=UTC)


def world() -> Billing:
    w = Billing(MARCH)
    w.create("plan", code="basic", name="Basic", currency="USD", interval="month", base_fee=1000)
    w.create("supplier", code="water", name="Water Co")
    w.create("supplier", code="heat", name="Heat Co")
    w.create("add_on", code="water", name="Water", currency="USD", amount=3000, interval="month", supplier="water")
    w.create("add_on", code="heat", name="Heating", currency="USD", amount=6000, interval="month", supplier="heat")
    return w


def pay(w: Billing, customer: str, amount: int, **body: object):
    data = {"customer": customer, "amount": amount, "currency": "USD", "channel": "bank_transfer", **body}
    return w.payments.record(SCOPE, parse(PaymentCreate, data))


def invoice(w: Billing, invoice_id: str) -> Invoice:
    found = w.invoices_repo.rows[(SCOPE, invoice_id)]
    assert isinstance(found, Invoice)
    return found


def balanced(w: Billing, customer: str) -> dict[str, int]:
    entries = w.invoices_repo.journal(SCOPE, customer)
    assert all(sum(p.debit for p in e.postings) == sum(p.credit for p in e.postings) for e in entries)
    return ledger.balances(entries)


def test_a_payment_pays_the_oldest_open_invoices_first_and_the_rest_is_credit() -> None:
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "basic")
    [march] = w.bill(sub)
    w.at(datetime(2026, 4, 1, tzinfo=UTC))
    [april] = w.bill(sub)
    payment = pay(w, cus, 1500)
    assert [(a.invoice, a.amount) for a in payment.allocations] == [(march.id, 1000), (april.id, 500)]
    assert (payment.status, payment.credited, payment.provider) == ("succeeded", 0, "offline")
    assert invoice(w, march.id).status == "paid" and invoice(w, march.id).amount_due == 0
    assert (invoice(w, april.id).status, invoice(w, april.id).amount_paid, invoice(w, april.id).amount_due) == (
        "open", 500, 500)  # fmt: skip
    more = pay(w, cus, 800)
    assert [(a.invoice, a.amount) for a in more.allocations] == [(april.id, 500)] and more.credited == 300
    balances = balanced(w, cus)
    assert balances[ledger.RECEIVABLE] == 0 and balances["cash:offline"] == 2300
    assert ledger.credit_available(balances) == 300
    w.at(datetime(2026, 5, 1, tzinfo=UTC))
    [may] = w.bill(sub)  # the credit is used by the next finalized invoice
    assert (may.applied_balance, may.amount_due) == (300, 700)
    types = [e.type for e in w.invoices_repo.events if e.type.startswith(("Payment", "InvoiceP", "CustomerCredit"))]
    assert types == ["PaymentSucceeded", "InvoicePaid", "InvoicePartiallyPaid",
                     "PaymentSucceeded", "InvoicePaid", "CustomerCreditChanged"]  # fmt: skip


def test_one_payment_is_split_over_suppliers_in_proportion_to_what_each_has_open() -> None:
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "basic", add_ons=[{"add_on": "water"}, {"add_on": "heat"}])
    [first] = w.bill(sub)
    assert first.amount_due == 10000  # 1000 own, 3000 water, 6000 heating
    payment = pay(w, cus, 5000, invoice=first.id)
    assert {a.supplier: a.amount for a in payment.allocations} == {None: 500, "water": 1500, "heat": 3000}
    rest = pay(w, cus, 5000, invoice=first.id)
    assert {a.supplier: a.amount for a in rest.allocations} == {None: 500, "water": 1500, "heat": 3000}
    assert invoice(w, first.id).supplier_paid == {"": 1000, "water": 3000, "heat": 6000}
    balance = w.payments.balance(SCOPE, cus)
    assert (balance.receivable, balance.customer_credit, balance.suppliers) == (0, 0, [])


def test_a_balance_shows_what_each_supplier_is_still_owed() -> None:
    w = world()
    cus = w.customer()
    sub = w.subscribe(cus, "basic", add_ons=[{"add_on": "water"}, {"add_on": "heat"}])
    w.bill(sub)
    pay(w, cus, 2001)
    balance = w.payments.balance(SCOPE, cus).to_public()
    assert balance["receivable"] == 7999 and balance["customer_credit"] == 0
    assert balance["suppliers"] == [{"supplier": None, "receivable": 800}, {"supplier": "heat", "receivable": 4799},
                                    {"supplier": "water", "receivable": 2400}]  # fmt: skip


def test_a_payment_for_a_paid_invoice_is_credit_and_bad_ones_are_refused() -> None:
    w = world()
    cus = w.customer()
    other = w.customer()
    [first] = w.bill(w.subscribe(cus, "basic"))
    pay(w, cus, 1000, invoice=first.id)
    again = pay(w, cus, 1000, invoice=first.id)
    assert (again.allocations, again.credited) == ([], 1000)
    refusals = [
        ({"customer": "cus_missing"}, "customer"),
        ({"invoice": first.id, "customer": other}, "invoice"),
        ({"currency": "EUR", "invoice": first.id}, "currency"),
        ({"paid_at": "2030-01-01T00:00:00Z"}, "paid_at"),
    ]
    before = dict(w.payments_repo.rows)
    for body, param in refusals:
        with pytest.raises(BillingError) as refused:
            pay(w, body.pop("customer", cus), 100, **body)
        assert refused.value.param == param, body
    assert w.payments_repo.rows == before  # nothing written
    with pytest.raises(BillingError) as refused:
        parse(PaymentCreate, {"customer": cus, "amount": 0, "currency": "USD", "channel": "cash_desk"})
    assert refused.value.param == "amount"


def test_payments_are_listed_by_customer_and_status(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = itertools.count(1_800_000_000_000)  # ids made in one millisecond would sort at random
    monkeypatch.setattr(service, "new_id", lambda prefix: new_id(prefix, next(ticks)))
    w = world()
    cus, other = w.customer(), w.customer()
    w.bill(w.subscribe(cus, "basic"))
    mine = [pay(w, cus, 100).id, pay(w, cus, 200).id]
    pay(w, other, 300)
    listed = w.payments.list(SCOPE, PaymentQuery.from_params({"customer": cus}))
    assert [p.id for p in listed.data] == list(reversed(mine))
    assert w.payments.get(SCOPE, mine[0]).amount == 100


def test_a_payment_made_earlier_is_recorded_at_its_time_in_utc() -> None:
    w = world()
    cus = w.customer(external_id="acct-7")
    [first] = w.bill(w.subscribe(cus, "basic"))
    payment = pay(w, "acct-7", 1000, paid_at="2026-02-28T13:30:00+01:00")  # the external id names it too
    assert (payment.customer, payment.paid_at) == (cus, "2026-02-28T12:30:00Z")
    assert payment.created_at == "2026-03-01T00:00:00Z"
    [entry] = [e for e in w.invoices_repo.journal(SCOPE, cus) if e.reference == payment.id]
    assert (entry.kind, entry.at) == ("payment_received", "2026-02-28T12:30:00Z")
    assert invoice(w, first.id).status == "paid"
    for bad in ("2026-02-28T12:30:00", "yesterday", 1772280000):
        with pytest.raises(BillingError) as refused:
            pay(w, cus, 100, paid_at=bad)
        assert refused.value.param == "paid_at", bad


def test_the_credit_event_carries_the_data_the_event_catalog_gives_it() -> None:
    w = world()
    cus = w.customer()
    w.bill(w.subscribe(cus, "basic"))
    payment = pay(w, cus, 1250)
    [event] = [e for e in w.invoices_repo.events if e.type == "CustomerCreditChanged"]
    catalog = yaml.safe_load((Path(__file__).parents[2] / "api_spec" / "events.yaml").read_text())
    jsonschema.validate(event.data, catalog["events"]["CustomerCreditChanged"]["data"])
    assert event.data == {"customer": cus, "currency": "USD", "amount": 250, "reason": "payment_excess",
                          "reference": payment.id}  # fmt: skip


def test_a_customer_without_a_currency_takes_its_first_payments() -> None:
    w = world()
    cus = w.customer()
    payment = pay(w, cus, 700, currency="EUR")
    assert (payment.credited, w.customer_repo.get(SCOPE, cus).currency) == (700, "EUR")
    with pytest.raises(BillingError) as refused:  # euros of credit never pay an invoice in dollars
        w.subscribe(cus, "basic")
    assert refused.value.code == "currency_mismatch"
    with pytest.raises(BillingError) as refused:
        pay(w, cus, 100, currency="USD")
    assert (refused.value.code, refused.value.param) == ("currency_mismatch", "currency")


def test_a_balance_names_its_customer_by_id_or_external_id_and_404s_otherwise() -> None:
    w = world()
    cus = w.customer(external_id="acct-8")
    assert w.payments.balance(SCOPE, "acct-8").customer == cus
    for missing in ("cus_01kkrnw4g02kp31g6gkjjhzw2x", "nobody"):
        with pytest.raises(NotFound) as refused:
            w.payments.balance(SCOPE, missing)
        assert refused.value.param == "customer_id"


@given(st.integers(0, 10**12), st.dictionaries(st.sampled_from(["", "a", "b", "c"]), st.integers(-5, 10**9)))
def test_a_split_sums_to_the_whole_in_proportion(amount: int, weights: dict[str, int]) -> None:
    parts = split(amount, weights)
    assert sum(parts.values()) == amount and all(part > 0 for part in parts.values())
    total = sum(w for w in weights.values() if w > 0)
    for key, part in parts.items():
        if total:
            assert abs(part * total - amount * weights[key]) < total  # within one minor unit
