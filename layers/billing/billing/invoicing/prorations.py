"""Prorations: what a change to fees billed in advance, or a cut, bills.

- A change at ``t`` within a period ``[start, end)`` (a plan change on the same interval; a
  recurring add-on added, removed or requantified) credits what was charged for that item
  from ``t`` on, and charges the new price's share of the rest of the period:
  ``price x (end - t) / length of a full period`` (a stub period pays its share of a full one).
- A cut at ``t`` (a cancellation, an interval change) credits what was charged for every
  item from ``t`` on.
- *What was charged* for an item from ``t`` on is the sum, over the lines that billed it
  (fees, recurring add-ons and prorations, on invoices that are not void, and the lines of
  the same step), of each line's amount after its discounts and less what credit notes took
  off it, times the part of the line's own span after ``t``; it is rounded once per credit.
  So a credit never returns more than was billed and not voided or credited for that span,
  and it returns the price actually paid: a credit of a stored invoice's line keeps the
  discounts that line had and is not discounted again (``discountable=False``); a credit of
  a line of the same step is discounted as that line will be.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from billing.catalog.add_ons import AddOn
from billing.catalog.plans import Plan
from billing.decimals import to_minor
from billing.invoicing.fees import add_on_remainder, plan_remainder
from billing.invoicing.lines import Line
from billing.invoicing.model import Invoice
from billing.periods import day, seconds, share
from billing.subscriptions.model import HistoryEntry

PLAN = "plan"
"""The item of a subscription's base fee, whichever plan billed it."""
HELD_TYPES = frozenset({"subscription_fee", "add_on", "proration"})
CHANGES = frozenset({"plan_changed", "add_on_added", "add_on_removed"})
"""The history entries that may change fees billed in advance."""


@dataclass(frozen=True)
class Held:
    """An amount charged for an item (``PLAN`` or a recurring add-on's code) over a span."""

    item: str
    line: Line
    amount: int
    discountable: bool


@dataclass(frozen=True)
class Catalog:
    """What prorating reads from the catalog."""

    plan: Callable[[str], Plan]
    add_on: Callable[[str], AddOn]

    def item(self, line: Line) -> str | None:
        """The recurring fee a line bills (None: usage, one-off add-ons, taxes ...)."""
        if line.type not in HELD_TYPES or not (line.period_start and line.period_end):
            return None
        if line.add_on:
            return line.add_on if self.add_on(line.add_on).interval is not None else None
        return PLAN if line.plan else None

    def name(self, item: str, line: Line) -> str:
        return self.plan(line.plan or "").name if item == PLAN else self.add_on(item).name


def billed(invoices: Iterable[Invoice], catalog: Catalog) -> list[Held]:
    """What stored invoices (void ones excepted) still charge for recurring fees."""
    return [
        Held(item, line, line.net - invoice.line_credits.get(line.id, 0), discountable=False)
        for invoice in invoices
        if invoice.status != "void"
        for line in invoice.lines
        if (item := catalog.item(line))
    ]


def held(lines: Iterable[Line], catalog: Catalog) -> list[Held]:
    """What lines of the step being billed charge (their discounts are not known yet)."""
    return [Held(item, line, line.amount, line.discountable) for line in lines if (item := catalog.item(line))]


def unused(holdings: Sequence[Held], item: str, at: str, catalog: Catalog) -> list[Line]:
    """The credit for what was charged for ``item`` from ``at`` on: one line for what keeps
    its discounts, one for what is discounted with the step (either may be absent)."""
    parts: dict[bool, dict[str, Fraction]] = {}
    latest: dict[bool, Line] = {}
    for holding in holdings:
        line = holding.line
        start, end = line.period_start or "", line.period_end or ""
        length = seconds(start, end)
        if holding.item != item or end <= at or length <= 0:
            continue
        group = parts.setdefault(holding.discountable, {})
        group[line.id] = group.get(line.id, Fraction(0)) + Fraction(
            holding.amount * seconds(max(start, at), end), length
        )
        if holding.discountable not in latest or end >= (latest[holding.discountable].period_end or ""):
            latest[holding.discountable] = line
    found = []
    for discountable, group in parts.items():
        amount, source = to_minor(-sum(group.values(), Fraction(0))), latest[discountable]
        if amount:
            description = f"Unused time on {catalog.name(item, source)} from {day(at)}"
            taken = {} if discountable else allocate(-amount, group)
            found.append(_credit(description, amount, at, source, discountable, taken))
    return found


def allocate(amount: int, parts: dict[str, Fraction]) -> dict[str, int]:
    """``amount`` (the rounded sum of ``parts``) split over the lines the parts come from:
    each part rounded, the difference on the largest, so the shares add up exactly."""
    shares = {line_id: to_minor(part) for line_id, part in parts.items()}
    largest = max(parts, key=lambda line_id: abs(parts[line_id]))
    shares[largest] += amount - sum(shares.values())
    return {line_id: share for line_id, share in shares.items() if share and line_id}  # "": this step's own


def _credit(description: str, amount: int, at: str, source: Line, discountable: bool, taken: dict[str, int]) -> Line:
    return Line(
        id="", type="proration", description=description, amount=amount, quantity="1", unit_amount=str(amount),
        period_start=at, period_end=source.period_end, plan=source.plan, add_on=source.add_on,
        supplier=source.supplier, discountable=discountable, prorates=taken,
    )  # fmt: skip


def prorated(invoices: Iterable[Invoice]) -> dict[str, int]:
    """Per invoice line, what later prorations credited of it (void invoices count for nothing):
    a line so credited cannot be credited again by a credit note, nor its invoice voided."""
    taken: dict[str, int] = {}
    for invoice in invoices:
        if invoice.status == "void":
            continue
        for line in invoice.lines:
            for line_id, amount in line.prorates.items():
                taken[line_id] = taken.get(line_id, 0) + amount
    return taken


def cut(holdings: Sequence[Held], at: str, catalog: Catalog) -> list[Line]:
    """A period cut short at ``at``: every item's credit from ``at`` on."""
    items = dict.fromkeys(holding.item for holding in holdings)
    return [line for item in items for line in unused(holdings, item, at, catalog)]


def change(entry: HistoryEntry, full_start: str, end: str, holdings: Sequence[Held], catalog: Catalog) -> list[Line]:
    """What one change at ``entry.at`` within a period ending at ``end`` bills."""
    part = share(entry.at, full_start, end)
    if entry.type == "plan_changed" and not entry.details.get("period_restarted"):
        new = plan_remainder(catalog.plan(entry.plan), part, entry.at, end)
        return [*unused(holdings, PLAN, entry.at, catalog), new]
    if entry.type not in ("add_on_added", "add_on_removed"):
        return []
    item = entry.details.get("add_on") or entry.details.get("removed") or {}
    add_on = catalog.add_on(item["add_on"])
    if add_on.interval is None:  # one-off add-ons are billed once, whole
        return []
    lines = unused(holdings, add_on.code, entry.at, catalog)
    if entry.type == "add_on_added":
        lines.append(add_on_remainder(add_on, int(item["quantity"]), part, entry.at, end))
    return lines


def changes(
    history: Iterable[HistoryEntry], span: tuple[str, str, str], full_start: str, holdings: Sequence[Held],
    catalog: Catalog,
) -> list[tuple[HistoryEntry, list[Line]]]:  # fmt: skip
    """Each change within ``(start, cut)`` of a period ``[start, end)`` billed in advance, in
    time order, with the lines it bills (each change credits what the earlier ones charged)."""
    start, until, end = span
    found, holdings = [], list(holdings)
    for entry in sorted((e for e in history if start < e.at < until), key=lambda e: e.at):
        lines = [line for line in change(entry, full_start, end, holdings, catalog) if line.amount]
        holdings += held(lines, catalog)
        found.append((entry, lines))
    return found
