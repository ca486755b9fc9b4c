"""The tenant's prepaid rules, and what one debit does to a balance.

A prepaid balance is an integer of the customer's currency (minor units). A debit is allowed
when the balance covers it; when it does not, the tenant's ``at_zero`` rule decides:

- ``refuse``: the event is refused (402 ``insufficient_balance``) and nothing is stored; the
  balance never goes below zero, and at zero no event is taken, not even one that costs
  nothing (a free unit, a meter not rated at once);
- ``suspend``: the event is accepted and debited (the service was delivered: the rest becomes
  a debt collected like any other), the balance may go below zero, and the debit that takes it
  from above zero to zero or below emits ``CustomerBalanceExhausted``; the tenant's collections
  suspend the customer from it.

``CustomerBalanceLow`` is emitted by the debit that takes the balance from at or above the
tenant's ``low_balance_threshold`` to below it: once per crossing (a top-up lifting the balance
back over the threshold arms it again). Each notice is decided from the balance the debit
started from, and the store writes the debit only while the balance is still on the same side
of each boundary it does not cross (``Boundary``), and one that crosses a boundary only while
the balance is still the one read (its notices name the balance after it): a debit that raced
another one is read again and decided again, so a crossing is announced exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AtZero = Literal["refuse", "suspend"]
LOW = "CustomerBalanceLow"
EXHAUSTED = "CustomerBalanceExhausted"


@dataclass(frozen=True)
class PrepaidPolicy:
    """``low_balance_threshold``: None for no low-balance notice."""

    at_zero: AtZero = "refuse"
    low_balance_threshold: int | None = None


@dataclass(frozen=True)
class Boundary:
    """A level a balance may cross going down: crossed by a debit of ``amount`` from ``before``
    when ``level <= before < level + amount`` (at or above it before, below it after)."""

    event: str
    level: int

    def crossed(self, before: int, amount: int) -> bool:
        return amount > 0 and self.level <= before < self.level + amount


@dataclass(frozen=True)
class Decision:
    """What a debit of ``amount`` does to a balance of ``before``: ``allowed`` (False: refused,
    nothing written), the balance after it, the boundaries it crosses (their notices are
    emitted with it) and those it must not cross (the store's conditions)."""

    before: int
    amount: int
    allowed: bool
    crossed: tuple[Boundary, ...]
    kept: tuple[Boundary, ...]

    @property
    def after(self) -> int:
        return self.before - self.amount

    @property
    def covered(self) -> bool:
        """The balance covers the debit (what a refusing policy requires of every debit)."""
        return covers(self.before, self.amount)


def covers(balance: int, amount: int) -> bool:
    """A balance covers a debit it stays at or above zero after; at zero or below it covers
    nothing more, not even a free unit (usage stops at zero), but always a refund."""
    return amount < 0 or (balance > 0 and balance >= amount)


def boundaries(policy: PrepaidPolicy) -> list[Boundary]:
    found = []
    if policy.low_balance_threshold is not None:
        found.append(Boundary(LOW, policy.low_balance_threshold))
    if policy.at_zero == "suspend":
        found.append(Boundary(EXHAUSTED, 1))  # from 1 or more to 0 or less
    return found


def decide(policy: PrepaidPolicy, before: int, amount: int) -> Decision:
    """The decision for a debit of ``amount`` from a balance of ``before``."""
    covered = covers(before, amount)
    allowed = covered or policy.at_zero == "suspend"
    found = boundaries(policy) if allowed else []
    crossed = tuple(b for b in found if b.crossed(before, amount))
    kept = tuple(b for b in found if b not in crossed and amount > 0)
    return Decision(before, amount, allowed, crossed, kept)
