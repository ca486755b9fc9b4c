"""Fee lines of a subscription at list price: recurring fees billed in advance, their share.

Every amount is rounded once, per line, to the currency's minor unit (half to even): a share
of a period is an exact fraction (seconds left / seconds in the period) that scales the price
before the one rounding. A first period that the billing anchor cuts short (a stub) pays its
share of a full period. Credits for what was billed are ``billing.invoicing.prorations``.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from billing.catalog.add_ons import AddOn
from billing.catalog.plans import Plan
from billing.decimals import to_minor, unit_price
from billing.invoicing.lines import Line, LineType
from billing.periods import day, stub_share


def fee_lines(
    plan: Plan | None, add_ons: Sequence[tuple[AddOn, int]], start: str, end: str, one_offs: Sequence[tuple[AddOn, int]]
) -> list[Line]:
    """The fees of ``[start, end)`` billed in advance: the plan's base fee and recurring add-ons
    (their share of a full period when the period is a stub), and one-off add-ons not billed yet."""
    part = stub_share(plan.interval, plan.interval_count, start, end) if plan else Fraction(1)
    lines = []
    if plan and plan.base_fee:
        lines.append(_fee(plan, part, start, end))
    for add_on, quantity in add_ons:
        lines.append(_add_on(add_on, quantity, part, start, end))
    for add_on, quantity in one_offs:
        lines.append(_add_on(add_on, quantity, Fraction(1), start, end))
    return lines


def charge_line(
    kind: LineType, description: str, unit: Fraction, quantity: int, span: tuple[str, str], **refs: Any
) -> Line:
    """A charge line: ``quantity`` x ``unit`` (a possibly prorated price), rounded once."""
    return Line(
        id="", type=kind, description=description, amount=to_minor(unit * quantity), quantity=str(quantity),
        unit_amount=unit_price(unit), period_start=span[0], period_end=span[1], **refs,
    )  # fmt: skip


def _fee(plan: Plan, part: Fraction, start: str, end: str) -> Line:
    description = plan.name if part == 1 else f"{plan.name} ({day(start)} to {day(end)}, prorated)"
    return charge_line("subscription_fee", description, plan.base_fee * part, 1, (start, end), plan=plan.id)


def _add_on(add_on: AddOn, quantity: int, part: Fraction, start: str, end: str) -> Line:
    name = add_on.invoice_display_name or add_on.name
    description = name if part == 1 else f"{name} (prorated)"
    unit = add_on.amount * part
    return charge_line(
        "add_on", description, unit, quantity, (start, end), add_on=add_on.code, supplier=add_on.supplier
    )


def plan_remainder(plan: Plan, part: Fraction, at: str, end: str) -> Line:
    """The share ``part`` of a plan's fee from ``at``: what a change to it charges."""
    description = f"Remaining time on {plan.name} from {day(at)}"
    return charge_line("proration", description, plan.base_fee * part, 1, (at, end), plan=plan.id)


def add_on_remainder(add_on: AddOn, quantity: int, part: Fraction, at: str, end: str) -> Line:
    """The share ``part`` of an add-on's price from ``at``: what adding it charges."""
    return charge_line(
        "proration", f"Remaining time on {add_on.name} from {day(at)}", add_on.amount * part, quantity, (at, end),
        add_on=add_on.code, supplier=add_on.supplier,
    )  # fmt: skip
