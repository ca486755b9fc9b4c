"""``/v1/test_clocks``: move time for test-mode customers, and run what falls due. The views
import the domain's models when first called, as the services load."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import advance_test_clock, test_clocks
from chalicelib.http import Call, route


@route("/v1/test_clocks", methods=("POST",))
def create_test_clock(call: Call) -> tuple[int, dict[str, Any]]:
    from billing.testclocks import TestClockCreate

    return 201, test_clocks().create(call.scope, call.body(TestClockCreate)).to_public()


@route("/v1/test_clocks/{test_clock_id}")
def get_test_clock(call: Call) -> dict[str, Any]:
    return test_clocks().get(call.scope, call.params["test_clock_id"]).to_public()


@route("/v1/test_clocks/{test_clock_id}/advance", methods=("POST",))
def advance(call: Call) -> dict[str, Any]:
    from billing.testclocks import Advance

    return advance_test_clock(call.scope, call.params["test_clock_id"], call.body(Advance)).to_public()
