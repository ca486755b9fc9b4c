"""Which dunning steps are due for an invoice on a date (pure): the plan of a daily dunning run.

- A step of the policy falls due for an open invoice on its due date (a UTC date) plus
  ``days_after_due`` days. A run on date D takes every step fallen due by D that was not done
  yet for the invoice, in day order: a second run on the same day finds them done and changes
  nothing, and a day the run missed is caught up by the next one.
- A step is done once per invoice: its ``key`` is the invoice, the step's day and its action
  (what the run records in the same write as the step's effect, so a retried run skips it).
- A reminder before the due date (negative ``days_after_due``) that was missed until the
  invoice fell due is dropped: it would announce a due date already past.
- Invoices that are not ``open`` (paid, void, uncollectible, drafts) have no steps due: paying
  stops dunning, and ``mark_uncollectible`` ends it.
- A late fee is ``amount``, or ``percent`` of the invoice's overdue principal
  (``billing.collections.debt.unpaid``: without fees and interest) on the day the run takes
  the step, rounded once, half to even.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from billing.collections.debt import due_date_of, unpaid
from billing.collections.policy import Action, DunningPolicy, DunningStep
from billing.decimals import to_minor
from billing.invoicing.model import Invoice


@dataclass(frozen=True)
class DueStep:
    """A step to take for ``invoice``, fallen due ``on``; ``amount``: a late fee's."""

    invoice: str
    action: Action
    days_after_due: int
    on: date
    amount: int | None = None

    @property
    def key(self) -> str:
        """Once per invoice, step and day."""
        return step_key(self.invoice, self.days_after_due, self.action)


def step_key(invoice_id: str, days_after_due: int, action: str) -> str:
    return f"{invoice_id}#{days_after_due}#{action}"


def due_steps(policy: DunningPolicy, invoice: Invoice, as_of: date, done: Collection[str]) -> list[DueStep]:
    """The steps of ``policy`` due for ``invoice`` by ``as_of`` and not ``done`` (their keys), in
    day order."""
    due = due_date_of(invoice)
    if invoice.status != "open" or due is None:
        return []
    found = []
    for step in sorted(policy.steps, key=lambda s: s.days_after_due):
        on = due + timedelta(days=step.days_after_due)
        if on > as_of or step_key(invoice.id, step.days_after_due, step.action) in done:
            continue
        if step.days_after_due < 0 and as_of > due:
            continue  # a reminder before due, missed until it is overdue
        found.append(DueStep(invoice.id, step.action, step.days_after_due, on, late_fee(step, invoice)))
    return found


def late_fee(step: DunningStep, invoice: Invoice) -> int | None:
    """The fee a ``late_fee`` step charges on ``invoice`` (None for other actions)."""
    if step.action != "late_fee":
        return None
    if step.amount is not None:
        return step.amount
    return to_minor(Decimal(unpaid(invoice).principal) * (step.percent or Decimal(0)) / 100)
