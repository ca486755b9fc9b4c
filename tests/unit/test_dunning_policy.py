"""The dunning policy: validated with errors naming the field, exact rates and fractions, stored
in its own shape."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from billing.adapters.dynamodb import dunning_policies
from billing.collections.policy import DunningPolicy, DunningPolicyUpdate
from billing.collections.service import DunningPolicies
from billing.errors import InvalidRequest
from billing.scope import Scope
from billing.validation import parse

SCOPE = Scope("ten_dun", livemode=False)
HOUSING = {
    "steps": [
        {"days_after_due": 30, "action": "late_fee", "percent": "2.5"},
        {"days_after_due": -3, "action": "reminder"},
        {"days_after_due": 60, "action": "suspend"},
    ],
    "penalty_interest": {
        "annual_rate": "16",
        "schedule": [{"from_day": 31, "fraction": "1/300"}, {"from_day": 91, "fraction": "1/130"}],
        "cap_percent": None,
    },
}


class MemoryPolicies:
    def __init__(self) -> None:
        self.rows: dict[Scope, DunningPolicy] = {}

    def get(self, scope: Scope) -> DunningPolicy | None:
        return self.rows.get(scope)

    def save(self, scope: Scope, policy: DunningPolicy) -> None:
        self.rows[scope] = policy


def test_a_policy_is_kept_per_mode_in_day_order_with_exact_terms() -> None:
    service = DunningPolicies(MemoryPolicies())
    assert service.get(SCOPE).to_public(False) == {
        "object": "dunning_policy", "livemode": False, "steps": [], "penalty_interest": None,
        "late_fees": "next_invoice",
    }  # fmt: skip
    policy = service.replace(SCOPE, parse(DunningPolicyUpdate, HOUSING))
    assert [s.days_after_due for s in policy.steps] == [-3, 30, 60]
    assert policy.penalty_interest is not None
    assert policy.penalty_interest.annual_rate == Decimal(16)
    assert [t.fraction for t in policy.penalty_interest.schedule] == [Fraction(1, 300), Fraction(1, 130)]
    shown = service.get(SCOPE).to_public(False)
    assert shown["steps"][1] == {"days_after_due": 30, "action": "late_fee", "amount": None, "percent": "2.5"}
    assert shown["penalty_interest"] == HOUSING["penalty_interest"]
    assert service.get(Scope("ten_dun", livemode=True)).steps == ()


def test_the_stored_shape_round_trips_without_numbers_for_rates() -> None:
    policy = DunningPolicy.of(parse(DunningPolicyUpdate, HOUSING))
    item = dunning_policies.to_item(SCOPE, policy)
    assert item["pi"] == {"rate": "16", "tiers": [[31, "1/300"], [91, "1/130"]]}
    assert dunning_policies.from_item(item) == policy
    own = DunningPolicy.of(parse(DunningPolicyUpdate, {**HOUSING, "late_fees": "own_invoice"}))
    assert dunning_policies.from_item(dunning_policies.to_item(SCOPE, own)).late_fees == "own_invoice"


def _tiers(*pairs: tuple[int, Any]) -> dict[str, Any]:
    return {"penalty_interest": {"annual_rate": "16", "schedule": [{"from_day": d, "fraction": f} for d, f in pairs]}}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"steps": [{"days_after_due": 5, "action": "late_fee"}]}, "steps[0].amount"),
        ({"steps": [{"days_after_due": 0, "action": "suspend"}]}, "steps[0].days_after_due"),
        ({"steps": [{"days_after_due": -1, "action": "retry_payment"}]}, "steps[0].days_after_due"),
        ({"steps": [{"days_after_due": 5, "action": "late_fee", "amount": 100, "percent": "1"}]}, "steps[0].amount"),
        ({"steps": [{"days_after_due": 5, "action": "reminder", "percent": "1"}]}, "steps[0].percent"),
        ({"steps": [{"days_after_due": 5, "action": "shout"}]}, "steps[0].action"),
        ({"steps": [{"days_after_due": "5", "action": "reminder"}]}, "steps[0].days_after_due"),
        ({"steps": [{"days_after_due": 1, "action": "reminder"}, {"days_after_due": 1, "action": "reminder"}]},
         "steps[1].action"),
        ({"steps": [{"days_after_due": 1, "action": "late_fee", "amount": 5},
                    {"days_after_due": 9, "action": "late_fee", "amount": 5}]}, "steps[1].action"),
        (_tiers((31, "1/300"), (31, "1/130")), "penalty_interest.schedule[1].from_day"),
        (_tiers((31, 0.0033)), "penalty_interest.schedule[0].fraction"),
        (_tiers((31, "3/2")), "penalty_interest.schedule[0].fraction"),
        (_tiers((31, "0")), "penalty_interest.schedule[0].fraction"),
        (_tiers((0, "1/300")), "penalty_interest.schedule[0].from_day"),
        ({"penalty_interest": {"annual_rate": 16, "schedule": [{"from_day": 1, "fraction": "1/300"}]}},
         "penalty_interest.annual_rate"),
        ({"penalty_interest": {"annual_rate": "-1", "schedule": [{"from_day": 1, "fraction": "1/300"}]}},
         "penalty_interest.annual_rate"),
        ({"penalty_interest": {"annual_rate": "16", "schedule": []}}, "penalty_interest.schedule"),
        ({"penalty_interest": {"annual_rate": "16", "schedule": [{"from_day": 1, "fraction": "1/3"}],
                               "cap_percent": "1e3"}}, "penalty_interest.cap_percent"),
        ({"grace": 3}, "grace"),
    ],
)  # fmt: skip
def test_a_bad_policy_is_refused_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse(DunningPolicyUpdate, body)
    assert raised.value.param == param
