"""A tenant's dunning policy, one per mode (like its settings): what happens to an unpaid
invoice, day by day relative to its due date, and the penalty interest it accrues.

- ``steps``: ``{"days_after_due": n, "action": ...}``, n negative for "before due" (-365 to
  3650): only a ``reminder`` comes before the due date, a ``retry_payment`` on it at the
  earliest, the others (fee, suspension, notice, write-off) only once it has passed.
  ``late_fee`` takes exactly one of ``amount`` (minor units of the invoice's currency) or
  ``percent`` (of the overdue principal, a decimal string from 0 to 100) and is charged once per
  invoice, so a policy has at most one; no other action takes either. An action appears at most
  once per day. Steps are kept in day order.
- ``penalty_interest`` (or null): ``annual_rate`` a decimal string in percent, ``schedule``
  1 to 10 tiers ``{"from_day": n, "fraction": "1/300"}`` with increasing ``from_day`` and
  a fraction in (0, 1] written as ``"p/q"`` or a decimal string, and ``cap_percent`` (a
  decimal string, or null). Rates and fractions are strings on the wire and exact values
  (``Decimal``, ``Fraction``) inside: never floats (a JSON number is refused).
  How it accrues: ``billing.collections.interest``.
- ``late_fees``: where a late fee is billed: ``next_invoice`` (a pending invoice item, on the
  customer's next invoice; the default) or ``own_invoice`` (an invoice of its own, at once).
  Penalty interest is always a pending item, billed on the next invoice
  (``billing.collections.dunning``).
- Without a stored policy, the policy is empty: no steps and no interest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from billing.catalog.fields import Percent
from billing.collections.interest import PenaltyInterest, Tier
from billing.decimals import MAX_AMOUNT, plain
from billing.validation import FieldError, Input

Billing = Literal["next_invoice", "own_invoice"]
Action = Literal["reminder", "retry_payment", "late_fee", "suspend", "final_notice", "mark_uncollectible"]
_RATE = re.compile(r"^[0-9]{1,4}(\.[0-9]{1,6})?$")
_FRACTION = re.compile(r"^([0-9]{1,6}/[1-9][0-9]{0,5}|[0-9]{1,6}(\.[0-9]{1,9})?)$")


def _rate(value: str) -> str:
    if not _RATE.match(value) or Decimal(value) <= 0 or Decimal(value) > 1000:
        raise ValueError('must be a decimal string greater than 0 and at most 1000, e.g. "16" or "7.5"')
    return value


def _fraction(value: str) -> str:
    if not _FRACTION.match(value) or not 0 < Fraction(value) <= 1:
        raise ValueError('must be a fraction greater than 0 and at most 1, e.g. "1/300" or "0.0025"')
    return value


Rate = Annotated[str, Field(max_length=12), AfterValidator(_rate)]
FractionText = Annotated[str, Field(max_length=20), AfterValidator(_fraction)]


class StepInput(Input):
    days_after_due: Annotated[int, Field(ge=-365, le=3650)]
    action: Action
    amount: Annotated[int, Field(gt=0, le=MAX_AMOUNT)] | None = None
    percent: Percent | None = None

    @model_validator(mode="after")
    def _charge(self) -> StepInput:
        earliest = {"reminder": -365, "retry_payment": 0}.get(self.action, 1)
        if self.days_after_due < earliest:
            when = "on or after the due date" if earliest == 0 else "after the due date"
            raise FieldError(("days_after_due",), f"a {self.action} step comes {when}")
        if self.action == "late_fee" and (self.amount is None) == (self.percent is None):
            raise FieldError(("amount",), "a late_fee step takes exactly one of amount or percent")
        if self.action != "late_fee":
            for name in ("amount", "percent"):
                if getattr(self, name) is not None:
                    raise FieldError((name,), "only a late_fee step takes an amount or a percent")
        return self


class TierInput(Input):
    from_day: Annotated[int, Field(ge=1, le=3650)]
    fraction: FractionText


class PenaltyInterestInput(Input):
    annual_rate: Rate
    schedule: Annotated[list[TierInput], Field(min_length=1, max_length=10)]
    cap_percent: Rate | None = None

    @model_validator(mode="after")
    def _increasing(self) -> PenaltyInterestInput:
        for n in range(1, len(self.schedule)):
            if self.schedule[n].from_day <= self.schedule[n - 1].from_day:
                raise FieldError(("schedule", n, "from_day"), "must be greater than the previous tier's from_day")
        return self


class DunningPolicyUpdate(Input):
    """``PUT /v1/dunning_policy``: the whole policy."""

    steps: Annotated[list[StepInput], Field(max_length=20)] = []
    penalty_interest: PenaltyInterestInput | None = None
    late_fees: Billing = "next_invoice"

    @model_validator(mode="after")
    def _distinct(self) -> DunningPolicyUpdate:
        seen: set[tuple[int, str]] = set()
        fees = 0
        for n, step in enumerate(self.steps):
            if (step.days_after_due, step.action) in seen:
                raise FieldError(("steps", n, "action"), f"{step.action} is already a step on that day")
            seen.add((step.days_after_due, step.action))
            fees += step.action == "late_fee"
            if fees > 1:
                raise FieldError(("steps", n, "action"), "a late fee is charged once per invoice: one late_fee step")
        return self


@dataclass(frozen=True)
class DunningStep:
    days_after_due: int
    action: Action
    amount: int | None = None
    percent: Decimal | None = None

    def to_public(self) -> dict[str, Any]:
        percent = plain(self.percent) if self.percent is not None else None
        return {"days_after_due": self.days_after_due, "action": self.action, "amount": self.amount, "percent": percent}


@dataclass(frozen=True)
class DunningPolicy:
    steps: tuple[DunningStep, ...] = ()
    penalty_interest: PenaltyInterest | None = None
    late_fees: Billing = "next_invoice"

    @property
    def empty(self) -> bool:
        """Nothing to do: no steps, no interest (a dunning run skips the scope)."""
        return not self.steps and self.penalty_interest is None

    @property
    def lead_days(self) -> int:
        """How many days before its due date an invoice has a step (a reminder before due)."""
        return max([0, *(-step.days_after_due for step in self.steps)])

    @classmethod
    def of(cls, update: DunningPolicyUpdate) -> DunningPolicy:
        steps = tuple(
            DunningStep(s.days_after_due, s.action, s.amount, Decimal(s.percent) if s.percent is not None else None)
            for s in sorted(update.steps, key=lambda s: s.days_after_due)
        )
        terms = update.penalty_interest
        interest = None
        if terms:
            cap = Decimal(terms.cap_percent) if terms.cap_percent is not None else None
            tiers = tuple(Tier(t.from_day, Fraction(t.fraction)) for t in terms.schedule)
            interest = PenaltyInterest(Decimal(terms.annual_rate), tiers, cap)
        return cls(steps, interest, update.late_fees)

    def to_public(self, livemode: bool) -> dict[str, Any]:
        terms = self.penalty_interest
        interest = None
        if terms:
            interest = {
                "annual_rate": plain(terms.annual_rate),
                "schedule": [{"from_day": t.from_day, "fraction": str(t.fraction)} for t in terms.schedule],
                "cap_percent": plain(terms.cap_percent) if terms.cap_percent is not None else None,
            }
        steps = [step.to_public() for step in self.steps]
        return {"object": "dunning_policy", "livemode": livemode, "steps": steps, "penalty_interest": interest,
                "late_fees": self.late_fees}  # fmt: skip
