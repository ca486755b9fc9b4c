"""``/v1/subscriptions``: thin views over ``SubscriptionService``."""

from __future__ import annotations

from typing import Any

from chalicelib.http import Call, route
from chalicelib.services import subscriptions

ITEM = "/v1/subscriptions/{subscription_id}"
LIST_QUERY = frozenset({"limit", "starting_after", "customer", "status", "plan"})


def _public(subscription: Any) -> dict[str, Any]:
    result: dict[str, Any] = subscription.model_dump(mode="json")
    return result


@route("/v1/subscriptions", methods=("POST",))
def create_subscription(call: Call) -> tuple[int, dict[str, Any]]:
    return 201, _public(subscriptions().create(call.scope, call.json()))


@route("/v1/subscriptions", query=LIST_QUERY)
def list_subscriptions(call: Call) -> dict[str, Any]:
    page = subscriptions().list(call.scope, call.query)
    return {"object": "list", "data": [_public(s) for s in page.data], "has_more": page.has_more}


@route(ITEM)
def get_subscription(call: Call) -> dict[str, Any]:
    return _public(subscriptions().get(call.scope, call.params["subscription_id"]))


@route(ITEM, methods=("PATCH",))
def update_subscription(call: Call) -> dict[str, Any]:
    return _public(subscriptions().update(call.scope, call.params["subscription_id"], call.json()))


@route(f"{ITEM}/history")
def subscription_history(call: Call) -> dict[str, Any]:
    entries = subscriptions().history(call.scope, call.params["subscription_id"])
    return {"object": "list", "data": [e.model_dump(mode="json") for e in entries], "has_more": False}


@route(f"{ITEM}/change", methods=("POST",))
def change_subscription(call: Call) -> dict[str, Any]:
    return _public(subscriptions().change_plan(call.scope, call.params["subscription_id"], call.json()))


@route(f"{ITEM}/cancel", methods=("POST",))
def cancel_subscription(call: Call) -> dict[str, Any]:
    return _public(subscriptions().cancel(call.scope, call.params["subscription_id"], call.json()))


@route(f"{ITEM}/pause", methods=("POST",))
def pause_subscription(call: Call) -> dict[str, Any]:
    return _public(subscriptions().pause(call.scope, call.params["subscription_id"], call.json()))


@route(f"{ITEM}/resume", methods=("POST",))
def resume_subscription(call: Call) -> dict[str, Any]:
    return _public(subscriptions().resume(call.scope, call.params["subscription_id"], call.json()))


@route(f"{ITEM}/add_ons", methods=("POST",))
def add_subscription_add_on(call: Call) -> dict[str, Any]:
    return _public(subscriptions().add_add_on(call.scope, call.params["subscription_id"], call.json()))


@route(f"{ITEM}/add_ons/{{add_on_code}}", methods=("DELETE",))
def remove_subscription_add_on(call: Call) -> dict[str, Any]:
    params = call.params
    return _public(subscriptions().remove_add_on(call.scope, params["subscription_id"], params["add_on_code"]))
