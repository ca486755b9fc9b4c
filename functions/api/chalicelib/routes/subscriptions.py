"""``/v1/subscriptions``: thin views over ``SubscriptionService``."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import subscriptions
from chalicelib.http import Call, route

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
    return subscriptions().list(call.scope, call.query).to_public(_public)


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


# POST {ITEM}/<segment> -> SubscriptionService.<method>(scope, subscription_id, body)
ACTIONS = {"change": "change_plan", "cancel": "cancel", "pause": "pause", "resume": "resume", "add_ons": "add_add_on"}


def _register_action(segment: str, method: str) -> None:
    @route(f"{ITEM}/{segment}", methods=("POST",), name=f"{method}_subscription")
    def act(call: Call) -> dict[str, Any]:
        action = getattr(subscriptions(), method)
        return _public(action(call.scope, call.params["subscription_id"], call.json()))


for _segment, _method in ACTIONS.items():
    _register_action(_segment, _method)


@route(f"{ITEM}/add_ons/{{add_on_code}}", methods=("DELETE",))
def remove_subscription_add_on(call: Call) -> dict[str, Any]:
    params = call.params
    return _public(subscriptions().remove_add_on(call.scope, params["subscription_id"], params["add_on_code"]))
