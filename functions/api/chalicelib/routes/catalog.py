"""``/v1/meters``, ``/v1/plans``, ``/v1/add_ons``, ``/v1/coupons``, ``/v1/tax_rates``,
``/v1/suppliers``: the same four views for every catalog kind."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import catalog, migrations
from chalicelib.http import Call, route

KINDS = {
    "meters": "meter",
    "plans": "plan",
    "add_ons": "add_on",
    "coupons": "coupon",
    "tax_rates": "tax_rate",
    "suppliers": "supplier",
}
LIST_QUERY = frozenset({"limit", "starting_after", "code"})


def _register(segment: str, kind: str) -> None:
    collection, item = f"/v1/{segment}", f"/v1/{segment}/{{{kind}_id}}"

    @route(collection, methods=("POST",), name=f"create_{kind}")
    def create(call: Call) -> tuple[int, dict[str, Any]]:
        return 201, catalog().create(call.scope, kind, call.json()).model_dump(mode="json")

    @route(collection, query=LIST_QUERY, name=f"list_{segment}")
    def list_all(call: Call) -> dict[str, Any]:
        return catalog().list(call.scope, kind, call.query).to_public(lambda entity: entity.model_dump(mode="json"))

    @route(item, name=f"get_{kind}")
    def get(call: Call) -> dict[str, Any]:
        return catalog().get(call.scope, kind, call.params[f"{kind}_id"]).model_dump(mode="json")

    @route(item, methods=("PATCH",), name=f"update_{kind}")
    def update(call: Call) -> dict[str, Any]:
        return catalog().update(call.scope, kind, call.params[f"{kind}_id"], call.json()).model_dump(mode="json")


for _segment, _kind in KINDS.items():
    _register(_segment, _kind)


@route("/v1/plans/{plan_id}/migrate", methods=("POST",))
def migrate_plan(call: Call) -> tuple[int, dict[str, Any]]:
    """Move every subscription on older versions of this plan to it at ``effective_date``."""
    return 202, migrations().request(call.scope, call.params["plan_id"], call.json())
