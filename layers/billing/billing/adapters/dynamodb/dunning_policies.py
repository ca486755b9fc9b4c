"""Dunning policies in the billing table: ``PK={scope}#DUNNING``, ``SK=DUNNING``, one item per
tenant and mode (beside its settings).

The item has its own shape: ``steps`` a list of ``{d, a, amt?, pct?}`` (days after due, action,
the late fee's amount or percent), ``pi`` the penalty interest ``{rate, tiers: [[from_day,
"p/q"]], cap?}``, ``lf`` where late fees are billed (absent: ``next_invoice``). Rates and
fractions are stored as strings, exact, never as numbers that a reader could take for floats."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from billing.adapters.dynamodb import table
from billing.collections.interest import PenaltyInterest, Tier
from billing.collections.policy import DunningPolicy, DunningStep
from billing.decimals import plain
from billing.scope import Scope


def _key(scope: Scope) -> dict[str, str]:
    return {"PK": f"{scope.key}#DUNNING", "SK": "DUNNING"}


def to_item(scope: Scope, policy: DunningPolicy) -> dict[str, Any]:
    steps = [
        {
            "d": s.days_after_due,
            "a": s.action,
            "amt": s.amount,
            "pct": plain(s.percent) if s.percent is not None else None,
        }
        for s in policy.steps
    ]
    item: dict[str, Any] = {**_key(scope), "entity": "dunning_policy", "steps": [_compact(s) for s in steps]}
    terms = policy.penalty_interest
    if terms:
        interest = {
            "rate": plain(terms.annual_rate),
            "tiers": [[t.from_day, str(t.fraction)] for t in terms.schedule],
            "cap": plain(terms.cap_percent) if terms.cap_percent is not None else None,
        }
        item["pi"] = _compact(interest)
    if policy.late_fees != "next_invoice":
        item["lf"] = policy.late_fees
    return item


def from_item(item: dict[str, Any]) -> DunningPolicy:
    steps = tuple(
        DunningStep(
            int(s["d"]), s["a"], int(s["amt"]) if "amt" in s else None, Decimal(s["pct"]) if "pct" in s else None
        )
        for s in item.get("steps", [])
    )
    interest = None
    if pi := item.get("pi"):
        tiers = tuple(Tier(int(day), Fraction(fraction)) for day, fraction in pi["tiers"])
        interest = PenaltyInterest(Decimal(pi["rate"]), tiers, Decimal(pi["cap"]) if "cap" in pi else None)
    return DunningPolicy(steps, interest, item.get("lf", "next_invoice"))


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


class DynamoDunningPolicyStore:
    def get(self, scope: Scope) -> DunningPolicy | None:
        item = table.get(_key(scope), consistent=False)
        return from_item(item) if item else None

    def save(self, scope: Scope, policy: DunningPolicy) -> None:
        table.client().put_item(TableName=table.table_name(), Item=table.encode(to_item(scope, policy)))
