"""The ledger in the billing table: each customer's journal and balances.

- journal entry: ``PK={scope}#JRN#{customer}``, ``SK={at}#{entry id}``: the customer's
  ledger in time order, written in the transaction of the document that posts it.
- balances: ``PK={scope}#BAL#{customer}``, ``SK=BAL``, one number per account
  (``acct:{account}``, debits less credits): the sum of the account's postings, added to in
  the same transaction as every entry (``ADD``), so it never drifts from them. Customer credit
  never turns into a debt: an entry that takes credit is written only while the credit is
  still there (a condition), so two invoices finalized at once cannot use the same credit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from billing import ledger
from billing.adapters.dynamodb import table
from billing.ledger import JournalEntry, Posting
from billing.scope import Scope

_PREFIX = "acct:"


def _balances_key(scope: Scope, customer: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#BAL#{customer}", "SK": "BAL"}


def post(scope: Scope, entry: JournalEntry) -> list[dict[str, Any]]:
    """The transaction operations that write ``entry`` and add it to the customer's balances."""
    item = {
        "PK": f"{scope.key}#JRN#{entry.customer}",
        "SK": f"{entry.at}#{entry.id}",
        "entity": "journal_entry",
        "data": json.dumps(entry.to_public(), separators=(",", ":")),
    }
    operations = [table.put(item, "attribute_not_exists(PK)")]
    deltas = {account: delta for account, delta in ledger.balances([entry]).items() if delta}
    if not deltas:
        return operations
    names = {f"#a{i}": _PREFIX + account for i, account in enumerate(deltas)}
    values: dict[str, Any] = {f":v{i}": delta for i, delta in enumerate(deltas.values())}
    update: dict[str, Any] = {
        "TableName": table.table_name(),
        "Key": table.encode(_balances_key(scope, entry.customer)),
        "UpdateExpression": "ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(deltas))),
        "ExpressionAttributeNames": names,
    }
    taken = deltas.get(ledger.CUSTOMER_CREDIT, 0)
    if taken > 0:  # credit used: it must still be there (the balance is a credit: negative)
        index = list(deltas).index(ledger.CUSTOMER_CREDIT)
        update["ConditionExpression"] = f"#a{index} <= :limit"
        values[":limit"] = -taken
    update["ExpressionAttributeValues"] = table.encode(values)
    return [*operations, {"Update": update}]


def balances(scope: Scope, customer: str) -> dict[str, int]:
    """The customer's balance per account, as ``billing.ledger.balances`` sums them."""
    item = table.get(_balances_key(scope, customer)) or {}
    return {name.removeprefix(_PREFIX): int(value) for name, value in item.items() if name.startswith(_PREFIX)}


def journal(scope: Scope, customer: str) -> Sequence[JournalEntry]:
    entries = []
    for item in table.query_all(f"{scope.key}#JRN#{customer}", consistent=True):
        data = json.loads(item["data"])
        postings = tuple(Posting(p["account"], p["debit"], p["credit"]) for p in data["postings"])
        entries.append(
            JournalEntry(
                customer=data["customer"],
                currency=data["currency"],
                at=data["at"],
                kind=data["kind"],
                reference=data["reference"],
                postings=postings,
                id=data["id"],
            )
        )
    return entries
