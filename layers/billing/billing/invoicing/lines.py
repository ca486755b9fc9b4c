"""Invoice lines.

Charge lines (``subscription_fee``, ``usage``, ``add_on``, ``proration``, ``late_fee``,
``penalty_interest``, ``adjustment``) carry their amount in the currency's minor unit, rounded once; credits are
negative. A credit of what an earlier invoice charged keeps the discounts it was charged
with and is not discounted again (``discountable`` false); nor are late fees and penalty
interest (``billing.collections.invoice_items``: a coupon never takes anything off a penalty).
A line billing a one-off invoice item names it (``invoice_item``). Discounts and taxes are allocated
to each charge line (``discount_amount``, ``tax_amounts``) and summed into one ``discount``
line per discount and one ``tax`` line per tax rate, so a line's revenue and tax can be
posted per supplier and per rate.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

LineType = Literal[
    "subscription_fee", "usage", "add_on", "discount", "tax", "proration", "late_fee", "penalty_interest", "adjustment"
]
CHARGE_TYPES = frozenset(
    {"subscription_fee", "usage", "add_on", "proration", "late_fee", "penalty_interest", "adjustment"}
)
PENALTY_TYPES = frozenset({"late_fee", "penalty_interest"})
"""What dunning charges: never discounted, never a base for penalty interest."""


class TaxAmount(BaseModel):
    model_config = ConfigDict(defer_build=True)

    tax_rate: str
    name: str
    percent: str
    inclusive: bool
    amount: int


class Line(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    type: LineType
    description: str
    amount: int
    quantity: str | None = None
    unit_amount: str | None = None
    meter: str | None = None
    plan: str | None = None
    add_on: str | None = None
    supplier: str | None = None
    period_start: str | None = None
    period_end: str | None = None
    discount_amount: int = 0
    tax_amounts: list[TaxAmount] = Field(default_factory=list)
    breakdown: list[dict[str, Any]] = Field(default_factory=list)
    tax_rate: str | None = None  # tax lines: which rate
    inclusive: bool | None = None  # tax lines: already contained in the charges
    discount: str | None = None  # discount lines: which discount
    discountable: bool = True  # False: a credit of what was paid, already net of its discounts
    prorates: dict[str, int] = Field(default_factory=dict)  # such a credit: what it takes of each line it credits
    invoice_item: str | None = None  # the one-off invoice item (``ii_...``) this line bills

    @property
    def is_charge(self) -> bool:
        return self.type in CHARGE_TYPES

    @property
    def net(self) -> int:
        """The charge after its share of discounts (taxes are computed on it)."""
        return self.amount - self.discount_amount


ORDER = {
    "subscription_fee": 0, "add_on": 1, "usage": 2, "proration": 3,
    "adjustment": 4, "late_fee": 5, "penalty_interest": 6,
}  # fmt: skip


def in_order(lines: list[Line]) -> list[Line]:
    """Charge lines as invoices show them: fees, add-ons, usage, prorations, then the rest."""
    return sorted(lines, key=lambda line: ORDER.get(line.type, len(ORDER)))
