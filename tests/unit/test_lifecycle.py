"""The subscription transition table: every status against every action."""

from __future__ import annotations

import pytest

from billing.errors import Conflict
from billing.subscriptions.lifecycle import next_status

STATUSES = ["trialing", "active", "past_due", "paused", "suspended", "canceled"]
# action -> the status it leads to from each status; absent = refused
EXPECTED: dict[str, dict[str, str]] = {
    "change_plan": {"trialing": "trialing", "active": "active", "past_due": "past_due"},
    "schedule_plan_change": {"trialing": "trialing", "active": "active", "past_due": "past_due"},
    "cancel": dict.fromkeys(["trialing", "active", "past_due", "paused", "suspended"], "canceled"),
    "schedule_cancel": {"trialing": "trialing", "active": "active", "past_due": "past_due", "paused": "paused"},
    "pause": {"trialing": "paused", "active": "paused", "past_due": "paused"},
    "resume": {"paused": "active"},
    "add_add_on": {s: s for s in ["trialing", "active", "past_due", "paused"]},
    "remove_add_on": {s: s for s in ["trialing", "active", "past_due", "paused"]},
    "update": {s: s for s in STATUSES},
    "schedule_tariff_change": {s: s for s in STATUSES if s != "canceled"},
}


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("status", STATUSES)
def test_transition_table(status: str, action: str) -> None:
    expected = EXPECTED[action].get(status)
    if expected is None:
        with pytest.raises(Conflict) as refused:
            next_status(status, action)  # type: ignore[arg-type]
        assert refused.value.code == "invalid_transition"
        assert status in refused.value.message
    else:
        assert next_status(status, action) == expected  # type: ignore[arg-type]


def test_a_canceled_subscription_cannot_be_resumed_or_changed() -> None:
    for action in ("resume", "change_plan", "pause", "cancel", "add_add_on"):
        with pytest.raises(Conflict, match="canceled"):
            next_status("canceled", action)
