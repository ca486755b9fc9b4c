"""``/v1/dunning_policy`` (the calling tenant's, of the key's mode), dunning runs, a customer's
debt and access: thin views over ``billing.collections``."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import customer_access, debts, dunning, dunning_policies
from chalicelib.http import Call, route


@route("/v1/dunning_policy")
def get_dunning_policy(call: Call) -> dict[str, Any]:
    return dunning_policies().get(call.scope).to_public(call.scope.livemode)


@route("/v1/dunning_policy", methods=("PUT",))
def replace_dunning_policy(call: Call) -> dict[str, Any]:
    from billing.collections.policy import DunningPolicyUpdate

    policy = dunning_policies().replace(call.scope, call.body(DunningPolicyUpdate))
    return policy.to_public(call.scope.livemode)


@route("/v1/customers/{customer_id}/debt")
def customer_debt(call: Call) -> dict[str, Any]:
    return debts().of(call.scope, call.params["customer_id"]).to_public()


@route("/v1/customers/{customer_id}/access")
def customer_access_status(call: Call) -> dict[str, Any]:
    return customer_access().of(call.scope, call.params["customer_id"]).to_public()


@route("/v1/dunning_runs", methods=("POST",))
def run_dunning(call: Call) -> dict[str, Any]:
    from billing.collections.dunning import DunningRunRequest

    summary = dunning().start(call.scope, call.optional_body(DunningRunRequest))
    return summary.to_public(call.scope.livemode)
