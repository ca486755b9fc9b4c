"""Double-entry ledger: append-only journal entries per customer account.

Every document that moves money posts one balanced entry (debits = credits), written in
the same transaction as the document's change. Accounts, per customer:

- ``receivable``: what the customer owes (debit) or has paid (credit);
- ``revenue`` / ``revenue:{supplier}``: income, per supplier billed on behalf of;
- ``tax_payable:{tax_rate}``: tax collected for the authorities;
- ``customer_credit``: money held for the customer: invoices with a negative total (a credit
  larger than the charges), credit notes beyond what an invoice still asked for, and payments
  beyond what the open invoices asked for. It is used by the customer's next finalized
  invoices (``applied_balance``) and never goes into debit;
- ``cash:{provider}``: money received through a provider (``cash:stripe``), or recorded by the
  tenant (``cash:offline``), until it is paid out.

A balance is the sum of its postings; nothing stores a balance without its postings.
Amounts are integers in the currency's minor unit, never negative: a negative amount is
posted on the other side.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billing.ids import new_id

if TYPE_CHECKING:
    from billing.invoicing.model import Invoice


@dataclass(frozen=True)
class Posting:
    account: str
    debit: int = 0
    credit: int = 0


@dataclass(frozen=True)
class JournalEntry:
    customer: str
    currency: str
    at: str
    kind: str  # invoice_finalized, invoice_voided, credit_note_issued ...
    reference: str  # the document's id
    postings: tuple[Posting, ...]
    id: str = field(default_factory=lambda: new_id("je"))

    def __post_init__(self) -> None:
        if sum(p.debit for p in self.postings) != sum(p.credit for p in self.postings):
            raise ValueError(f"unbalanced journal entry for {self.reference}")

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "journal_entry",
            "customer": self.customer,
            "currency": self.currency,
            "at": self.at,
            "kind": self.kind,
            "reference": self.reference,
            "postings": [{"account": p.account, "debit": p.debit, "credit": p.credit} for p in self.postings],
        }


@dataclass(frozen=True)
class StoredEntry:
    """A journal entry's id and postings as stored, balanced or not: what ``billing ledger
    check`` (``billing.ledger_check``) reads, where a ``JournalEntry`` would refuse to load."""

    id: str
    postings: Sequence[Posting]


RECEIVABLE = "receivable"
CUSTOMER_CREDIT = "customer_credit"
WRITE_OFF = "write_off"  # receivables let go (an expense): shortfalls, uncollectible invoices


def written_off(amount: int) -> list[Posting]:
    """Let ``amount`` of receivables go: ``write_off`` debited, ``receivable`` credited."""
    return [Posting(WRITE_OFF, debit=amount), Posting(RECEIVABLE, credit=amount)]


def side(account: str, amount: int, debit: bool) -> Posting:
    """``amount`` on the debit side (or the credit side), flipped when negative."""
    if (amount >= 0) == debit:
        return Posting(account, debit=abs(amount))
    return Posting(account, credit=abs(amount))


def _merge(postings: Iterable[Posting]) -> tuple[Posting, ...]:
    """One posting per account and side, zero postings dropped, in a stable order."""
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for posting in postings:
        if posting.debit:
            sums[(posting.account, "debit")] += posting.debit
        if posting.credit:
            sums[(posting.account, "credit")] += posting.credit
    return tuple(Posting(account, **{side: amount}) for (account, side), amount in sorted(sums.items()) if amount)


def revenue_account(supplier: str | None) -> str:
    return f"revenue:{supplier}" if supplier else "revenue"


def invoice_postings(invoice: Invoice) -> list[Posting]:
    """A finalized invoice's effect: the customer's debt (receivable debited by the total), or,
    for a negative total, the customer's credit (customer credit credited); each supplier's
    revenue credited by its lines net of discounts and inclusive taxes; each tax rate's payable
    credited by its tax; and the customer credit it used moved to receivable."""
    postings = [side(RECEIVABLE, invoice.total, debit=True)]
    if invoice.total < 0:
        postings = [side(CUSTOMER_CREDIT, -invoice.total, debit=False)]
    for line in invoice.lines:
        if not line.is_charge:
            continue
        inclusive = sum(t.amount for t in line.tax_amounts if t.inclusive)
        postings.append(side(revenue_account(line.supplier), line.net - inclusive, debit=False))
        for tax in line.tax_amounts:
            postings.append(side(f"tax_payable:{tax.tax_rate}", tax.amount, debit=False))
    if invoice.applied_balance:
        postings += [
            Posting(CUSTOMER_CREDIT, debit=invoice.applied_balance),
            Posting(RECEIVABLE, credit=invoice.applied_balance),
        ]
    return postings


def credit_available(balances: dict[str, int]) -> int:
    """The customer credit not used yet (the account's balance is a credit: negative)."""
    return max(-balances.get(CUSTOMER_CREDIT, 0), 0)


def reverse(postings: Iterable[Posting]) -> list[Posting]:
    return [Posting(p.account, debit=p.credit, credit=p.debit) for p in postings]


def cash_account(provider: str) -> str:
    return f"cash:{provider}"


def payment_postings(provider: str, received: int, excess: int) -> list[Posting]:
    """Money received: the provider's cash debited; the customer's receivable credited by what
    invoices took of it, customer credit by the ``excess`` no invoice asked for."""
    return [
        Posting(cash_account(provider), debit=received),
        Posting(RECEIVABLE, credit=received - excess),
        Posting(CUSTOMER_CREDIT, credit=excess),
    ]


def journal_entry(
    customer: str, currency: str, kind: str, at: str, reference: str, postings: Iterable[Posting]
) -> JournalEntry:
    """An entry of merged postings (one per account and side, none of zero)."""
    return JournalEntry(
        customer=customer, currency=currency, at=at, kind=kind, reference=reference, postings=_merge(postings)
    )


def entry(
    invoice: Invoice, kind: str, at: str, postings: Iterable[Posting], reference: str | None = None
) -> JournalEntry:
    return journal_entry(invoice.customer, invoice.currency, kind, at, reference or invoice.id, postings)


def balances(entries: Iterable[JournalEntry]) -> dict[str, int]:
    """Each account's balance, debits less credits, summed from the postings."""
    totals: dict[str, int] = defaultdict(int)
    for journal in entries:
        for posting in journal.postings:
            totals[posting.account] += posting.debit - posting.credit
    return dict(sorted(totals.items()))


def statement(customer: str, entries: Sequence[JournalEntry]) -> dict[str, Any]:
    """A customer's ledger as the API shows it: balances and the entries they come from."""
    return {
        "object": "ledger",
        "customer": customer,
        "balances": balances(entries),
        "entries": [journal.to_public() for journal in entries],
    }
