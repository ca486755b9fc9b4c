"""``billing ledger check``: what it finds wrong with a customer's ledger, and that it reaches
every customer of a scope, archived ones included, through the customer list."""

from __future__ import annotations

from billing.customers import CustomerCreate, CustomerService
from billing.ledger import Posting, StoredEntry
from billing.ledger_check import LedgerCheck, problems_of
from billing.scope import Scope
from tests.unit.fakes import MemoryCustomers

SCOPE = Scope("ten_a", livemode=True)
PAYMENT = StoredEntry("je_1", [Posting("cash:offline", debit=700), Posting("customer_credit", credit=700)])


def test_a_consistent_ledger_has_no_problems() -> None:
    assert problems_of(SCOPE, "cus_1", [PAYMENT], {"cash:offline": 700, "customer_credit": -700}) == []
    assert problems_of(SCOPE, "cus_2", [], {}) == []


def test_an_unbalanced_entry_and_each_balance_that_is_not_its_postings_are_named() -> None:
    odd = StoredEntry("je_2", [Posting("receivable", debit=100)])
    found = problems_of(SCOPE, "cus_1", [PAYMENT, odd], {"cash:offline": 705, "customer_credit": -700, "x": 1})
    assert [(p.entry, p.account) for p in found] == [("je_2", None), (None, "cash:offline"), (None, "receivable"),
                                                     (None, "x")]  # fmt: skip
    assert str(found[1]) == "ten_a (live) customer cus_1: account cash:offline: stored balance 705, postings sum to 700"
    assert str(found[0]).endswith("entry je_2 does not balance: debits 100, credits 0")


def test_every_customer_is_reached_page_by_page_archived_ones_too() -> None:
    customers = CustomerService(MemoryCustomers())
    made = [customers.create(SCOPE, CustomerCreate.model_validate({"name": f"C{n}"})).id for n in range(230)]
    for customer_id in made[::7]:
        customers.archive(SCOPE, customer_id)
    check = LedgerCheck(customers.list, lambda scope, customer: [], lambda scope, customer: {})
    reached = list(check.customer_ids(SCOPE))
    assert sorted(reached) == sorted(made)
