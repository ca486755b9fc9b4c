"""``/v1/subscriptions``: thin views over ``SubscriptionService``. The views import the domain's
models when first called, as the services load (``billing.adapters.services``), not at cold
start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from billing.adapters.services import subscriptions
from billing.pagination import Page
from billing.validation import NoBody
from chalicelib.http import Call, route

if TYPE_CHECKING:
    from billing.subscriptions.model import Subscription

LIST_QUERY = frozenset({"limit", "starting_after", "customer", "status", "plan"})
JSON = dict[str, Any]


def _public(subscription: Subscription) -> JSON:
    result: JSON = subscription.model_dump(mode="json")
    return result


@route("/v1/subscriptions", methods=("POST",))
def create_subscription(call: Call) -> tuple[int, JSON]:
    from billing.subscriptions.model import SubscriptionCreate

    return 201, _public(subscriptions().create(call.scope, call.body(SubscriptionCreate)))


@route("/v1/subscriptions", query=LIST_QUERY)
def list_subscriptions(call: Call) -> JSON:
    from billing.subscriptions.service import SubscriptionQuery

    return subscriptions().list(call.scope, SubscriptionQuery.from_params(call.query)).to_public(_public)


@route("/v1/subscriptions/{subscription_id}")
def get_subscription(call: Call) -> JSON:
    return _public(subscriptions().get(call.scope, call.params["subscription_id"]))


@route("/v1/subscriptions/{subscription_id}", methods=("PATCH",))
def update_subscription(call: Call) -> JSON:
    from billing.subscriptions.model import SubscriptionUpdate

    changes = call.body(SubscriptionUpdate)
    return _public(subscriptions().update(call.scope, call.params["subscription_id"], changes))


@route("/v1/subscriptions/{subscription_id}/history")
def subscription_history(call: Call) -> JSON:
    entries = subscriptions().history(call.scope, call.params["subscription_id"])
    return Page.whole(entries).to_public(lambda entry: entry.model_dump(mode="json"))


@route("/v1/subscriptions/{subscription_id}/change", methods=("POST",))
def change_plan_subscription(call: Call) -> JSON:
    from billing.subscriptions.model import ChangePlan

    change = call.body(ChangePlan)
    return _public(subscriptions().change_plan(call.scope, call.params["subscription_id"], change))


@route("/v1/subscriptions/{subscription_id}/cancel", methods=("POST",))
def cancel_subscription(call: Call) -> JSON:
    from billing.subscriptions.model import Cancel

    return _public(subscriptions().cancel(call.scope, call.params["subscription_id"], call.body(Cancel)))


@route("/v1/subscriptions/{subscription_id}/pause", methods=("POST",))
def pause_subscription(call: Call) -> JSON:
    call.optional_body(NoBody)
    return _public(subscriptions().pause(call.scope, call.params["subscription_id"]))


@route("/v1/subscriptions/{subscription_id}/resume", methods=("POST",))
def resume_subscription(call: Call) -> JSON:
    call.optional_body(NoBody)
    return _public(subscriptions().resume(call.scope, call.params["subscription_id"]))


@route("/v1/subscriptions/{subscription_id}/add_ons", methods=("POST",))
def add_add_on_subscription(call: Call) -> JSON:
    from billing.subscriptions.model import AddOnItem

    item = call.body(AddOnItem)
    return _public(subscriptions().add_add_on(call.scope, call.params["subscription_id"], item))


@route("/v1/subscriptions/{subscription_id}/add_ons/{add_on_code}", methods=("DELETE",))
def remove_subscription_add_on(call: Call) -> JSON:
    params = call.params
    return _public(subscriptions().remove_add_on(call.scope, params["subscription_id"], params["add_on_code"]))
