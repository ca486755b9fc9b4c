"""``/v1/test_clocks``: move time for test-mode customers, and run what falls due."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import advance_test_clock, test_clocks
from chalicelib.http import Call, route

ITEM = "/v1/test_clocks/{test_clock_id}"


@route("/v1/test_clocks", methods=("POST",))
def create_test_clock(call: Call) -> tuple[int, dict[str, Any]]:
    return 201, test_clocks().create(call.scope, call.json()).to_public()


@route(ITEM)
def get_test_clock(call: Call) -> dict[str, Any]:
    return test_clocks().get(call.scope, call.params["test_clock_id"]).to_public()


@route(f"{ITEM}/advance", methods=("POST",))
def advance(call: Call) -> dict[str, Any]:
    return advance_test_clock(call.scope, call.params["test_clock_id"], call.json()).to_public()
