"""Which actions each subscription status allows, and the status they lead to.

``None`` as the next status keeps the current one. Anything not in the table
is refused with 409 ``invalid_transition``: a canceled subscription never
changes again, and only a paused one resumes.
"""

from __future__ import annotations

from typing import Literal

from billing.errors import Conflict

Status = Literal["trialing", "active", "past_due", "paused", "suspended", "canceled"]
LIVE: frozenset[Status] = frozenset({"trialing", "active", "past_due"})
NOT_ENDED: frozenset[Status] = LIVE | {"paused", "suspended"}

TRANSITIONS: dict[str, tuple[frozenset[Status], Status | None]] = {
    "change_plan": (LIVE, None),
    "schedule_plan_change": (LIVE, None),
    "cancel": (NOT_ENDED, "canceled"),
    "schedule_cancel": (LIVE | {"paused"}, None),
    "pause": (LIVE, "paused"),
    "resume": (frozenset({"paused"}), "active"),
    "add_add_on": (NOT_ENDED - {"suspended"}, None),
    "remove_add_on": (NOT_ENDED - {"suspended"}, None),
    "update": (NOT_ENDED | {"canceled"}, None),
    "schedule_tariff_change": (NOT_ENDED, None),
}

_VERBS = {
    "change_plan": "change the plan of",
    "schedule_plan_change": "change the plan of",
    "cancel": "cancel",
    "schedule_cancel": "cancel",
    "pause": "pause",
    "resume": "resume",
    "add_add_on": "add an add-on to",
    "remove_add_on": "remove an add-on from",
    "update": "update",
    "schedule_tariff_change": "migrate",
}


def next_status(status: Status, action: str) -> Status:
    """The status after ``action``; ``Conflict`` when ``status`` does not allow it."""
    allowed, target = TRANSITIONS[action]
    if status not in allowed:
        raise Conflict(f"Cannot {_VERBS[action]} a {status} subscription.", code="invalid_transition")
    return target or status
