"""Prepaid balances as the API shows them, authorizations, and the refusal of a debit.

The prepaid balance is not a second ledger. Top-ups are payments, and a payment beyond what
the open invoices ask for is customer credit (``billing.ledger``), posted when it is received.
The spendable balance is that credit less the usage debited in real time but not invoiced yet:

    balance = customer credit - unbilled debits

kept as one number on the customer's balances item (beside the ledger's account balances),
changed atomically by every entry that moves customer credit and by every debit. Debits post
nothing to the ledger (nothing is posted per event): the statement invoice of the period bills
the usage, is paid from the customer credit when it is finalized (``applied_balance``, a
balanced entry like any invoice's), and releases the period's debits in the same write, so the
balance is unchanged by the statement's usage and every ledger entry stays balanced.

One balance per customer is one balance per currency: a customer has one currency (taken from
its first subscription, payment or invoice item, and refused in any other), as its ledger does.
Base fees, taxes and other lines of the statement are paid from the credit when it is
finalized, like the usage; they may take the balance below zero (a fee is due whatever the
balance), after which events are refused (``refuse``) until a top-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import Field, PlainValidator

from billing.decimals import plain
from billing.errors import DomainRuleViolation
from billing.prepaid.policy import PrepaidPolicy
from billing.quantities import MAX_DECIMALS, in_range
from billing.validation import Input


class InsufficientBalance(DomainRuleViolation):
    """A prepaid customer's balance does not cover a debit and the tenant refuses it (402)."""

    status = 402
    default_code = "insufficient_balance"


@dataclass(frozen=True)
class Wallet:
    """A customer's prepaid state as stored: the spendable ``balance`` and the ``unbilled``
    debits it already holds back (usage debited, not yet on a finalized statement)."""

    balance: int = 0
    unbilled: int = 0
    closed: frozenset[tuple[str, str]] = frozenset()  # (subscription, period start) of finalized statements


@dataclass(frozen=True)
class PrepaidBalance:
    currency: str | None
    wallet: Wallet
    policy: PrepaidPolicy

    def to_public(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "balance": self.wallet.balance,
            "unbilled_usage": self.wallet.unbilled,
            "low_balance_threshold": self.policy.low_balance_threshold,
            "at_zero": self.policy.at_zero,
        }


def _positive_quantity(value: object) -> Decimal:
    """A JSON number or a decimal string, above 0 and within ``billing.quantities``' bounds;
    never through binary float arithmetic (a float is read from its shortest repr)."""
    found = None
    if isinstance(value, int | float | str | Decimal) and not isinstance(value, bool):
        try:
            found = Decimal(str(value).strip())
        except InvalidOperation:
            found = None
    if found is None or not found.is_finite() or found <= 0 or not in_range(found):
        raise ValueError(f"must be a number above 0, below 10^15, with at most {MAX_DECIMALS} decimal places")
    return found


class AuthorizeRequest(Input):
    """``POST /v1/customers/{id}/authorize``: may the customer use ``quantity`` of ``meter``
    now? A ``count`` meter's quantity is a number of events (a whole number); other meters'
    is the value an event would carry in the meter's field. ``properties`` are the other
    properties of that event."""

    meter: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[Decimal, PlainValidator(_positive_quantity)]
    properties: Annotated[dict[str, Any], Field(max_length=100)] | None = None


@dataclass(frozen=True)
class Authorization:
    """The answer: ``allowed`` when the balance covers ``amount`` (the price of the quantity at
    this moment of the period); nothing is reserved."""

    customer: str
    meter: str
    quantity: Decimal
    currency: str | None
    amount: int
    balance: int
    allowed: bool

    def to_public(self) -> dict[str, Any]:
        return {
            "object": "authorization",
            "customer": self.customer,
            "meter": self.meter,
            "quantity": plain(self.quantity),
            "currency": self.currency,
            "allowed": self.allowed,
            "amount": self.amount,
            "balance": self.balance,
            "balance_after": self.balance - self.amount,
        }
