"""From charge lines to a complete invoice: discounts, then taxes, then totals.

- Discounts apply before taxes. A percent discount takes its share of every discountable
  charge line it covers (credits of this invoice's own charges included), rounded per line;
  an amount discount is spread over the positive lines in proportion to their amounts
  (largest remainder), never more than they are worth. Several discounts apply one after
  the other, each on what the previous ones left.
- Taxes are computed per charge line on its amount after discounts, rounded once per line
  and rate: an inclusive rate's tax is taken out of the amount (several inclusive rates
  share one base: amount / (1 + their sum)), an exclusive rate's tax is added on the base.
- ``subtotal`` = sum of the charge lines; ``discount_total`` = sum of the discounts;
  ``tax_total`` = every tax, inclusive ones included; ``total`` = subtotal - discount_total
  + the exclusive taxes. The lines therefore add up to the total (inclusive tax lines are
  shown for information and not added).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.catalog.tax_rates import AppliedTaxRate
from billing.decimals import to_minor
from billing.invoicing.lines import Line, TaxAmount
from billing.money import spread


@dataclass(frozen=True)
class Discount:
    """A coupon or a customer benefit, as applied to one invoice."""

    id: str
    description: str
    percent_off: str | None = None
    amount_off: int | None = None
    supplier: str | None = None  # only the charges billed on behalf of this supplier


@dataclass(frozen=True)
class Totals:
    subtotal: int
    discount_total: int
    tax_total: int
    total: int


def compose(
    charges: Sequence[Line], discounts: Sequence[Discount], rates: Sequence[AppliedTaxRate]
) -> tuple[list[Line], Totals]:
    """The invoice's lines (charges with their allocations, then one line per discount and per
    tax rate) and its totals."""
    lines = [line.model_copy(update={"discount_amount": 0, "tax_amounts": []}) for line in charges]
    discount_lines = [_apply(discount, lines) for discount in discounts]
    for line in lines:
        line.tax_amounts = _taxes(line.net, rates)
    tax_lines = _tax_lines(lines, rates)
    subtotal = sum(line.amount for line in lines)
    discount_total = sum(line.discount_amount for line in lines)
    tax_total = sum(tax.amount for line in lines for tax in line.tax_amounts)
    exclusive = sum(tax.amount for line in lines for tax in line.tax_amounts if not tax.inclusive)
    totals = Totals(subtotal, discount_total, tax_total, subtotal - discount_total + exclusive)
    return lines + [line for line in discount_lines if line.amount] + tax_lines, totals


def _apply(discount: Discount, lines: list[Line]) -> Line:
    covered = [line for line in lines if line.discountable and discount.supplier in (None, line.supplier)]
    if discount.percent_off is not None:
        percent = Decimal(discount.percent_off) / 100
        shares = [to_minor(line.net * percent) for line in covered]
    else:  # never more than the covered lines are worth together, credits included
        worth = max(sum(line.net for line in covered), 0)
        shares = spread(min(discount.amount_off or 0, worth), [max(line.net, 0) for line in covered])
    for line, taken in zip(covered, shares, strict=True):
        line.discount_amount += taken
    return Line(id="", type="discount", description=discount.description, amount=-sum(shares), discount=discount.id)


def _taxes(net: int, rates: Sequence[AppliedTaxRate]) -> list[TaxAmount]:
    inclusive = sum((Decimal(r.percent) for r in rates if r.inclusive), Decimal(0))
    base = Decimal(net) / (1 + inclusive / 100)
    return [
        TaxAmount(tax_rate=r.id, name=r.name, percent=r.percent, inclusive=r.inclusive,
                  amount=to_minor(base * Decimal(r.percent) / 100))
        for r in rates
    ]  # fmt: skip


def _tax_lines(lines: list[Line], rates: Sequence[AppliedTaxRate]) -> list[Line]:
    if not lines:
        return []
    return [
        Line(
            id="",
            type="tax",
            description=f"{rate.name} ({rate.percent}%{' incl.' if rate.inclusive else ''})",
            amount=sum(t.amount for line in lines for t in line.tax_amounts if t.tax_rate == rate.id),
            tax_rate=rate.id,
            inclusive=rate.inclusive,
        )
        for rate in rates
    ]


def number_lines(lines: list[Line], invoice_id: str) -> list[Line]:
    """Give each line a stable id, ``il_`` + the invoice's id body + its position."""
    body = invoice_id.partition("_")[2]
    return [line.model_copy(update={"id": f"il_{body}{n:03d}"}) for n, line in enumerate(lines)]
