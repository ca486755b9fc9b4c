"""Checking the ledger (``billing ledger check``): every journal entry balances, and every
stored balance equals the sum of its account's postings.

The platform never writes an unbalanced entry (``ledger.JournalEntry`` refuses one) and adds
each entry to the balances in the entry's own transaction, so a problem found here means data
changed behind the ledger's back (a hand edit, a bad migration, a bug that bypassed the
adapter). Entries are therefore read as stored, balanced or not (``ledger.StoredEntry``),
never rebuilt as ``JournalEntry``. Customers are read through the customer list (both the listed and
the archived ones), one page at a time, never by scanning the table: functions may not Scan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from billing.customers.model import Customer, CustomerQuery, Status
from billing.ledger import StoredEntry
from billing.pagination import MAX_LIMIT, Page, PageRequest
from billing.scope import Scope


@dataclass(frozen=True)
class Problem:
    scope: Scope
    customer: str
    message: str
    account: str | None = None  # a balance that differs from its postings
    entry: str | None = None  # an entry that does not balance

    def __str__(self) -> str:
        mode = "live" if self.scope.livemode else "test"
        return f"{self.scope.tenant_id} ({mode}) customer {self.customer}: {self.message}"


def problems_of(
    scope: Scope, customer: str, entries: Sequence[StoredEntry], stored: Mapping[str, int]
) -> list[Problem]:
    """What is wrong with one customer's ledger: entries whose debits and credits differ, and
    accounts whose stored balance is not the sum of their postings (debits less credits)."""
    found: list[Problem] = []
    summed: dict[str, int] = defaultdict(int)
    for entry in entries:
        debit, credit = sum(p.debit for p in entry.postings), sum(p.credit for p in entry.postings)
        if debit != credit:
            message = f"entry {entry.id} does not balance: debits {debit}, credits {credit}"
            found.append(Problem(scope, customer, message, entry=entry.id))
        for posting in entry.postings:
            summed[posting.account] += posting.debit - posting.credit
    for account in sorted(set(summed) | set(stored)):
        held, posted = stored.get(account, 0), summed.get(account, 0)
        if held != posted:
            message = f"account {account}: stored balance {held}, postings sum to {posted}"
            found.append(Problem(scope, customer, message, account=account))
    return found


class LedgerCheck:
    def __init__(
        self,
        customers: Callable[[Scope, CustomerQuery], Page[Customer]],
        entries: Callable[[Scope, str], Sequence[StoredEntry]],
        balances: Callable[[Scope, str], Mapping[str, int]],
    ):
        self._customers, self._entries, self._balances = customers, entries, balances

    def customer_ids(self, scope: Scope) -> Iterator[str]:
        """Every customer of the scope, archived ones too, a page of 100 at a time."""
        statuses: tuple[Status | None, ...] = (None, "archived")  # a list without status leaves them out
        for status in statuses:
            cursor: str | None = None
            while True:
                query = CustomerQuery(status=status, page=PageRequest(MAX_LIMIT, cursor))
                page = self._customers(scope, query)
                yield from (customer.id for customer in page.data)
                if not page.has_more:
                    break
                cursor = page.next_starting_after or page.data[-1].id

    def problems(self, scope: Scope, customer: str) -> list[Problem]:
        return problems_of(scope, customer, self._entries(scope, customer), self._balances(scope, customer))
