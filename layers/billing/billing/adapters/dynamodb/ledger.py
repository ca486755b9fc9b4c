"""The ledger in the billing table: each customer's journal and balances.

- journal entry: ``PK={scope}#JRN#{customer}``, ``SK={at}#{entry id}``: the customer's
  ledger in time order, written in the transaction of the document that posts it. Its own
  shape (``to_item``): ``id``, ``customer``, ``at``, ``cur`` (currency), ``kind``, ``ref``
  (the document), ``p`` (postings: ``[account, debit, credit]`` each).
- balances: ``PK={scope}#BAL#{customer}``, ``SK=BAL``, one number per account
  (``acct:{account}``, debits less credits): the sum of the account's postings, added to in
  the same transaction as every entry (``ADD``), so it never drifts from them. Customer credit
  never turns into a debt: an entry that takes credit is written only while the credit is
  still there (a condition), so two invoices finalized at once cannot use the same credit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from billing import ledger
from billing.adapters.dynamodb import table
from billing.ledger import JournalEntry, Posting, StoredEntry
from billing.scope import Scope

if TYPE_CHECKING:
    from billing.invoicing.model import Invoice

_PREFIX = "acct:"


def balances_key(scope: Scope, customer: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#BAL#{customer}", "SK": "BAL"}


def to_item(scope: Scope, entry: JournalEntry) -> dict[str, Any]:
    return {
        "PK": f"{scope.key}#JRN#{entry.customer}",
        "SK": f"{entry.at}#{entry.id}",
        "entity": "journal_entry",
        "id": entry.id,
        "customer": entry.customer,
        "at": entry.at,
        "cur": entry.currency,
        "kind": entry.kind,
        "ref": entry.reference,
        "p": [[p.account, p.debit, p.credit] for p in entry.postings],
    }


def _stored(item: Mapping[str, Any]) -> dict[str, Any]:
    """The entry's fields under their stored names, whichever shape it was written in."""
    if "data" in item:
        # Written before entries had a shape of their own (up to 0.x): the API's JSON in
        # ``data``, read leniently (only the fields an entry has).
        data = json.loads(item["data"])
        return {**data, "cur": data["currency"], "ref": data["reference"],
                "p": [[p["account"], p["debit"], p["credit"]] for p in data["postings"]]}  # fmt: skip
    return dict(item)


def _postings(stored: Mapping[str, Any]) -> tuple[Posting, ...]:
    return tuple(Posting(account, int(debit), int(credit)) for account, debit, credit in stored["p"])


def from_item(item: Mapping[str, Any]) -> JournalEntry:
    stored = _stored(item)
    return JournalEntry(
        customer=stored["customer"],
        currency=stored["cur"],
        at=stored["at"],
        kind=stored["kind"],
        reference=stored["ref"],
        postings=_postings(stored),
        id=stored["id"],
    )


PREPAID_BALANCE = "pp_bal"
"""A prepaid customer's spendable balance: customer credit less unbilled debits
(``billing.prepaid``). Every update that moves customer credit moves it the other way."""
PREPAID_UNBILLED = "pp_unb"
PREPAID_PERIOD = "ppd:"
PREPAID_CLOSED = "pp_closed"  # the period attributes whose statement was finalized: no debit reopens one


def period_attribute(subscription: str, period_start: str) -> str:
    """The balances item's attribute holding one subscription period's unbilled prepaid debits."""
    return f"{PREPAID_PERIOD}{subscription}#{period_start}"


@dataclass(frozen=True)
class Release:
    """A finalized statement's release of its period's prepaid debits: the balances item's
    attribute holding them (removed) and their ``amount`` (given back to the spendable balance,
    which the statement's applied credit takes again)."""

    attribute: str
    amount: int


def release_of(balances_item: Mapping[str, Any] | None, invoice: Invoice) -> Release | None:
    """What finalizing ``invoice`` releases: the unbilled prepaid debits of the subscription
    period its usage lines bill (its usage basis), as the balances item holds them; None
    without any (a postpaid customer's invoice, an invoice without usage)."""
    if not balances_item or not invoice.subscription or invoice.usage is None:
        return None
    attribute = period_attribute(invoice.subscription, invoice.usage.period_start)
    amount = balances_item.get(attribute)
    return Release(attribute, int(amount)) if amount is not None else None


def post(scope: Scope, entry: JournalEntry, release: Release | None = None) -> list[dict[str, Any]]:
    """The transaction operations that write ``entry`` and add it to the customer's balances."""
    return post_all(scope, [entry], release)


def post_all(scope: Scope, entries: Sequence[JournalEntry], release: Release | None = None) -> list[dict[str, Any]]:
    """The operations that write ``entries`` (one customer's) and add them to its balances in
    one update: a transaction may touch the balances item only once. A change of customer
    credit moves the prepaid balance with it; a ``release`` (a prepaid statement finalized)
    gives its period's debits back, on the condition that they are still what was read."""
    operations = [table.put(to_item(scope, entry), "attribute_not_exists(PK)") for entry in entries]
    deltas = {_PREFIX + account: delta for account, delta in ledger.balances(entries).items() if delta}
    credit = deltas.get(_PREFIX + ledger.CUSTOMER_CREDIT, 0)
    if credit:
        deltas[PREPAID_BALANCE] = -credit
    if release:
        deltas[PREPAID_BALANCE] = deltas.get(PREPAID_BALANCE, 0) + release.amount
        deltas[PREPAID_UNBILLED] = -release.amount
    if not deltas and not release:
        return operations
    names = {f"#a{i}": name for i, name in enumerate(deltas)}
    values: dict[str, Any] = {f":v{i}": delta for i, delta in enumerate(deltas.values())}
    expression = "ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(deltas)))
    conditions = []
    if credit > 0:  # credit used: it must still be there (the balance is a credit: negative)
        index = list(deltas).index(_PREFIX + ledger.CUSTOMER_CREDIT)
        conditions.append(f"#a{index} <= :limit")
        values[":limit"] = -credit
    if release:
        names["#rel"], values[":rel"] = release.attribute, release.amount
        names["#closed"], values[":closed"] = PREPAID_CLOSED, {release.attribute}
        expression += ", #closed :closed REMOVE #rel"
        conditions.append("#rel = :rel")
    update: dict[str, Any] = {
        "TableName": table.table_name(),
        "Key": table.encode(balances_key(scope, entries[0].customer)),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": table.encode(values),
    }
    if conditions:
        update["ConditionExpression"] = " AND ".join(conditions)
    return [*operations, {"Update": update}]


def balances_of(item: Mapping[str, Any] | None) -> dict[str, int]:
    """The balance per account a balances item holds (none yet: no balance)."""
    found = item or {}
    return {name.removeprefix(_PREFIX): int(value) for name, value in found.items() if name.startswith(_PREFIX)}


def balances(scope: Scope, customer: str) -> dict[str, int]:
    """The customer's balance per account, as ``billing.ledger.balances`` sums them."""
    return balances_of(table.get(balances_key(scope, customer)))


def _journal_items(scope: Scope, customer: str) -> list[dict[str, Any]]:
    return table.query_all(f"{scope.key}#JRN#{customer}", consistent=True)


def journal(scope: Scope, customer: str) -> Sequence[JournalEntry]:
    return [from_item(item) for item in _journal_items(scope, customer)]


def stored_entries(scope: Scope, customer: str) -> Sequence[StoredEntry]:
    """The customer's entries as stored, balanced or not (``billing ledger check``): one that
    does not balance cannot be read as a ``JournalEntry``."""
    return [StoredEntry(stored["id"], _postings(stored)) for stored in map(_stored, _journal_items(scope, customer))]
