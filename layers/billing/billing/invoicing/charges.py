"""Charge lines of a subscription: recurring fees in advance, prorations, usage in arrears.

Every amount is rounded once, per line, to the currency's minor unit (half to even).
Proration is by the second: a change at ``t`` within a period ``[start, end)`` whose fees
were billed in advance credits the unused share ``(end - t) / (end - start)`` of what was
billed and charges the same share of the new price. A first period that the billing anchor
cuts short (a stub) pays its share of a full period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing.catalog.add_ons import AddOn
from billing.catalog.plans import Plan
from billing.clock import to_wire
from billing.decimals import to_minor, unit_price
from billing.invoicing.lines import Line, LineType
from billing.periods import shift
from billing.subscriptions.model import HistoryEntry
from billing.usage.aggregation import seconds_between


def share(at: str, start: str, end: str) -> Decimal:
    """The part of ``[start, end)`` left after ``at``."""
    length = seconds_between(start, end)
    return seconds_between(at, end) / length if length > 0 else Decimal(0)


def full_period_start(plan: Plan, start: str, end: str) -> str:
    """The start of a full period of ``plan`` ending at ``end`` (before ``start`` for a stub)."""
    full = shift(datetime.fromisoformat(end), plan.interval, plan.interval_count, -1)
    return min(start, to_wire(full))


def _day(moment: str) -> str:
    return moment[:10]


def fee_lines(
    plan: Plan | None, add_ons: Sequence[tuple[AddOn, int]], start: str, end: str, one_offs: Sequence[tuple[AddOn, int]]
) -> list[Line]:
    """The fees of ``[start, end)`` billed in advance: the plan's base fee and recurring add-ons
    (their share of a full period when the period is a stub), and one-off add-ons not billed yet."""
    part = stub_share(plan, start, end) if plan else Decimal(1)
    lines = []
    if plan and plan.base_fee:
        lines.append(_fee(plan, part, start, end))
    for add_on, quantity in add_ons:
        lines.append(_add_on(add_on, quantity, part, start, end))
    for add_on, quantity in one_offs:
        lines.append(_add_on(add_on, quantity, Decimal(1), start, end))
    return lines


def stub_share(plan: Plan, start: str, end: str) -> Decimal:
    """The part of a full period of ``plan`` that ``[start, end)`` covers (1 for a full one)."""
    return min(Decimal(1), share(start, full_period_start(plan, start, end), end))


def _line(kind: LineType, description: str, unit: Decimal, quantity: int, span: tuple[str, str], **refs: Any) -> Line:
    """A charge line: ``quantity`` x ``unit`` (a possibly prorated price), rounded once."""
    return Line(
        id="", type=kind, description=description, amount=to_minor(unit * quantity), quantity=str(quantity),
        unit_amount=unit_price(unit), period_start=span[0], period_end=span[1], **refs,
    )  # fmt: skip


def _fee(plan: Plan, part: Decimal, start: str, end: str) -> Line:
    description = plan.name if part == 1 else f"{plan.name} ({_day(start)} to {_day(end)}, prorated)"
    return _line("subscription_fee", description, plan.base_fee * part, 1, (start, end), plan=plan.id)


def _add_on(add_on: AddOn, quantity: int, part: Decimal, start: str, end: str) -> Line:
    name = add_on.invoice_display_name or add_on.name
    description = name if part == 1 else f"{name} (prorated)"
    unit = Decimal(add_on.amount) * part
    return _line("add_on", description, unit, quantity, (start, end), add_on=add_on.code, supplier=add_on.supplier)


def _add_on_proration(add_on: AddOn, quantity: int, part: Decimal, at: str, end: str) -> Line:
    """The share ``part`` of an add-on's price from ``at``: charged (part > 0) or credited."""
    verb = "Remaining time on" if part > 0 else "Unused time on"
    return _line(
        "proration", f"{verb} {add_on.name} from {_day(at)}", Decimal(add_on.amount) * part, quantity, (at, end),
        add_on=add_on.code, supplier=add_on.supplier,
    )  # fmt: skip


def proration_lines(
    history: Iterable[HistoryEntry],
    span: tuple[str, str, str],
    full_start: str,
    plan_of: Callable[[str], Plan],
    add_on_of: Callable[[str], AddOn],
) -> list[Line]:
    """Credits and charges for the changes made within ``[start, cut)`` to fees billed in
    advance for ``[start, end)`` (a full period starting at ``full_start``): plan changes on
    the same interval and recurring add-ons."""
    start, cut, end = span
    lines: list[Line] = []
    for entry in history:
        if not start < entry.at < cut:
            continue
        part = share(entry.at, full_start, end)
        if entry.type == "plan_changed" and not entry.details.get("period_restarted"):
            lines += plan_change_lines(
                plan_of(entry.details["previous_plan"]), plan_of(entry.plan), part, entry.at, end
            )
        elif entry.type in ("add_on_added", "add_on_removed"):
            lines += _add_on_change(entry, part, end, add_on_of)
    return [line for line in lines if line.amount]


def plan_change_lines(old: Plan, new: Plan, part: Decimal, at: str, end: str) -> list[Line]:
    """A plan change at ``at``: the unused share of the old fee back, the same share of the new."""
    return [_credit(old, part, at, end), _charge(new, part, at, end)]


def cut_credit(plan: Plan, add_ons: Sequence[tuple[AddOn, int]], cut: str, full_start: str, end: str) -> list[Line]:
    """A period cut short at ``cut`` (a cancellation, an interval change) credits the unused
    share of the fees billed for it (shares of a full period starting at ``full_start``)."""
    part = share(cut, full_start, end)
    lines = [_credit(plan, part, cut, end)]
    lines += [_add_on_proration(add_on, quantity, -part, cut, end) for add_on, quantity in add_ons]
    return [line for line in lines if line.amount]


def _credit(plan: Plan, part: Decimal, at: str, end: str) -> Line:
    description = f"Unused time on {plan.name} from {_day(at)}"
    return _line("proration", description, -plan.base_fee * part, 1, (at, end), plan=plan.id)


def _charge(plan: Plan, part: Decimal, at: str, end: str) -> Line:
    description = f"Remaining time on {plan.name} from {_day(at)}"
    return _line("proration", description, plan.base_fee * part, 1, (at, end), plan=plan.id)


def _add_on_change(entry: HistoryEntry, part: Decimal, end: str, add_on_of: Callable[[str], AddOn]) -> list[Line]:
    lines = []
    for key, sign in (("previous", -1), ("add_on", 1) if entry.type == "add_on_added" else ("removed", -1)):
        item = entry.details.get(key)
        if not item:
            continue
        add_on = add_on_of(item["add_on"])
        if add_on.interval is not None:  # one-off add-ons are billed once, whole
            lines.append(_add_on_proration(add_on, int(item["quantity"]), part * sign, entry.at, end))
    return lines
