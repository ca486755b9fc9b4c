"""``/v1/checkout_sessions``: links a tenant sends a customer to pay an invoice or top up on the
hosted page (``billing.payments.checkout``); the page itself is ``pages``."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import checkout_sessions
from chalicelib.http import Call, route


@route("/v1/checkout_sessions", methods=("POST",))
def create_checkout_session(call: Call) -> tuple[int, dict[str, Any]]:
    from billing.payments.checkout import CheckoutSessionCreate

    sessions = checkout_sessions()
    session, status = sessions.create(call.scope, call.body(CheckoutSessionCreate))
    return 201, session.to_public(sessions.url(session), status)


@route("/v1/checkout_sessions/{checkout_session_id}")
def get_checkout_session(call: Call) -> dict[str, Any]:
    sessions = checkout_sessions()
    session, status = sessions.get(call.scope, call.params["checkout_session_id"])
    return session.to_public(sessions.url(session), status)
