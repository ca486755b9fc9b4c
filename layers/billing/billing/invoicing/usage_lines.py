"""Usage lines: each charge of a plan rated on its meter's totals over a period.

A charge prices the meter's quantity over all its groups; the groups' quantities are listed
in the line's breakdown. Lines with neither usage nor an amount are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from billing.catalog.plans import Plan
from billing.decimals import plain, to_minor
from billing.invoicing.lines import Line
from billing.pricing import MODELS, Usage, per_unit, percentage
from billing.usage.totals import MeterTotal

ValuesOf = Callable[[str], Sequence[Decimal]]
"""The values of a period's events of one meter (for charges priced per event)."""


def usage_lines(
    plan: Plan,
    totals: Mapping[str, MeterTotal],
    meter_names: Mapping[str, str],
    period: tuple[str, str],
    values_of: ValuesOf,
) -> list[Line]:
    lines = []
    for charge in plan.charges:
        code, params = charge.meter, charge.params
        total = totals.get(code) or MeterTotal(code, "")
        values = values_of(code) if isinstance(params, percentage.Params) and params.per_event else None
        rated = MODELS[charge.model].rate(params, Usage(total.quantity, total.events, values))
        amount = to_minor(rated.amount)
        if not amount and not total.quantity:
            continue
        groups: list[dict[str, Any]] = [{"group": g, "quantity": plain(q)} for g, q in total.groups]
        lines.append(
            Line(
                id="",
                type="usage",
                description=charge.invoice_display_name or meter_names.get(code, code),
                meter=code,
                quantity=plain(total.quantity),
                unit_amount=params.unit_amount if isinstance(params, per_unit.Params) else None,
                amount=amount,
                plan=plan.id,
                supplier=charge.supplier,
                period_start=period[0],
                period_end=period[1],
                breakdown=[{"model": charge.model, "units": plain(rated.units)}, *rated.breakdown, *groups],
            )
        )
    return lines
