"""The DynamoDB ledger: balances are the sums of the journal's postings, written with each
entry, and customer credit cannot be used twice."""

from __future__ import annotations

import pytest

from billing import ledger
from billing.adapters.dynamodb import ledger as store
from billing.adapters.dynamodb import table
from billing.errors import Conflict
from billing.ids import new_id
from billing.scope import Scope
from infra.local.stack import EmbeddedStack


def entry(customer: str, at: str, *postings: ledger.Posting) -> ledger.JournalEntry:
    return ledger.JournalEntry(customer, "USD", at, "test", new_id("inv"), tuple(postings))


def credit_of(amount: int, customer: str, at: str) -> ledger.JournalEntry:
    """A negative invoice: revenue debited, the customer's credit credited."""
    return entry(
        customer, at, ledger.Posting("revenue", debit=amount), ledger.Posting("customer_credit", credit=amount)
    )


def use_of(amount: int, customer: str, at: str) -> ledger.JournalEntry:
    """An invoice paid with credit: receivable debited and credited, credit used."""
    return entry(
        customer, at,
        ledger.Posting("receivable", debit=amount), ledger.Posting("revenue", credit=amount),
        ledger.Posting("customer_credit", debit=amount), ledger.Posting("receivable", credit=amount),
    )  # fmt: skip


def test_balances_are_the_sums_of_the_postings_and_credit_is_used_once(stack: EmbeddedStack) -> None:
    scope, customer = Scope(new_id("ten"), False), new_id("cus")
    table.transact(store.post(scope, credit_of(500, customer, "2026-03-01T00:00:00Z")), {})
    table.transact(store.post(scope, use_of(400, customer, "2026-03-02T00:00:00Z")), {})
    with pytest.raises(Conflict):  # only 100 is left: the second use is refused, nothing written
        table.transact(store.post(scope, use_of(400, customer, "2026-03-03T00:00:00Z")), {})
    assert ledger.credit_available(store.balances(scope, customer)) == 100
    assert store.balances(scope, customer) == {
        k: v for k, v in ledger.balances(store.journal(scope, customer)).items() if v
    }
    assert len(store.journal(scope, customer)) == 2


def test_credit_that_was_never_there_cannot_be_used(stack: EmbeddedStack) -> None:
    scope, customer = Scope(new_id("ten"), True), new_id("cus")
    with pytest.raises(Conflict):
        table.transact(store.post(scope, use_of(1, customer, "2026-03-01T00:00:00Z")), {})
    assert store.balances(scope, customer) == {} and store.journal(scope, customer) == []


def test_the_prepaid_balance_follows_customer_credit_and_a_statement_releases_its_debits(
    stack: EmbeddedStack,
) -> None:
    from billing.adapters.dynamodb.prepaid import wallet_of

    scope, customer = Scope(new_id("ten"), False), new_id("cus")
    table.transact(store.post(scope, credit_of(1000, customer, "2026-03-01T00:00:00Z")), {})
    assert wallet_of(table.get(store.balances_key(scope, customer))).balance == 1000
    period = store.period_attribute("sub_x", "2026-03-01T00:00:00Z")
    debit = {  # what a prepaid event's debit adds (adapters/dynamodb/prepaid.py)
        "Update": {
            "TableName": table.table_name(),
            "Key": table.encode(store.balances_key(scope, customer)),
            "UpdateExpression": "ADD #b :neg, #u :amt, #p :amt",
            "ExpressionAttributeNames": {"#b": store.PREPAID_BALANCE, "#u": store.PREPAID_UNBILLED, "#p": period},
            "ExpressionAttributeValues": table.encode({":neg": -300, ":amt": 300}),
        }
    }
    table.transact([debit], {})
    item = table.get(store.balances_key(scope, customer))
    assert (wallet_of(item).balance, wallet_of(item).unbilled) == (700, 300)
    released = store.Release(period, 300)
    statement = use_of(300, customer, "2026-04-01T00:00:00Z")  # the statement, paid from the credit
    table.transact(store.post(scope, statement, released), {})
    item = table.get(store.balances_key(scope, customer))
    assert (wallet_of(item).balance, wallet_of(item).unbilled, period in (item or {})) == (700, 0, False)
    assert ledger.credit_available(store.balances(scope, customer)) == 700
    with pytest.raises(Conflict):  # released once: the period's debits are gone
        table.transact(store.post(scope, use_of(1, customer, "2026-04-02T00:00:00Z"), released), {})
