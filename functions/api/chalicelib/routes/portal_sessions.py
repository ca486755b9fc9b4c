"""``POST /v1/portal_sessions``: a one-time link to a customer's portal
(``billing.browser_sessions``); the portal itself is ``portal``."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import browser_sessions
from chalicelib.http import Call, route


@route("/v1/portal_sessions", methods=("POST",))
def create_portal_session(call: Call) -> tuple[int, dict[str, Any]]:
    from billing.browser_sessions import PortalSessionCreate

    return 201, browser_sessions().portal_link(call.scope, call.body(PortalSessionCreate)).to_public()
