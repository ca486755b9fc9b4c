"""``/v1/meters``, ``/v1/plans``, ``/v1/add_ons``, ``/v1/coupons``, ``/v1/tax_rates``,
``/v1/suppliers``: the same four views for every catalog kind, each path written out so that a
grep for it finds its view. The views import the catalog when first called, as the services
load (``billing.adapters.services``), not at cold start."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import catalog, migrations
from chalicelib.http import Call, route

LIST_QUERY = frozenset({"limit", "starting_after", "code"})
JSON = dict[str, Any]


def _create(call: Call, kind: str) -> tuple[int, JSON]:
    from billing.catalog.service import create_request

    return 201, catalog().create(call.scope, kind, create_request(kind, call.json())).model_dump(mode="json")


def _list(call: Call, kind: str) -> JSON:
    from billing.catalog.service import CatalogQuery

    listed = catalog().list(call.scope, kind, CatalogQuery.from_params(kind, call.query))
    return listed.to_public(lambda entity: entity.model_dump(mode="json"))


def _get(call: Call, kind: str) -> JSON:
    return catalog().get(call.scope, kind, call.params[f"{kind}_id"]).model_dump(mode="json")


def _update(call: Call, kind: str) -> JSON:
    from billing.catalog.service import update_request

    changes = update_request(kind, call.json())
    return catalog().update(call.scope, kind, call.params[f"{kind}_id"], changes).model_dump(mode="json")


@route("/v1/meters", methods=("POST",))
def create_meter(call: Call) -> tuple[int, JSON]:
    return _create(call, "meter")


@route("/v1/meters", query=LIST_QUERY)
def list_meters(call: Call) -> JSON:
    return _list(call, "meter")


@route("/v1/meters/{meter_id}")
def get_meter(call: Call) -> JSON:
    return _get(call, "meter")


@route("/v1/meters/{meter_id}", methods=("PATCH",))
def update_meter(call: Call) -> JSON:
    return _update(call, "meter")


@route("/v1/plans", methods=("POST",))
def create_plan(call: Call) -> tuple[int, JSON]:
    return _create(call, "plan")


@route("/v1/plans", query=LIST_QUERY)
def list_plans(call: Call) -> JSON:
    return _list(call, "plan")


@route("/v1/plans/{plan_id}")
def get_plan(call: Call) -> JSON:
    return _get(call, "plan")


@route("/v1/plans/{plan_id}", methods=("PATCH",))
def update_plan(call: Call) -> JSON:
    return _update(call, "plan")


@route("/v1/add_ons", methods=("POST",))
def create_add_on(call: Call) -> tuple[int, JSON]:
    return _create(call, "add_on")


@route("/v1/add_ons", query=LIST_QUERY)
def list_add_ons(call: Call) -> JSON:
    return _list(call, "add_on")


@route("/v1/add_ons/{add_on_id}")
def get_add_on(call: Call) -> JSON:
    return _get(call, "add_on")


@route("/v1/add_ons/{add_on_id}", methods=("PATCH",))
def update_add_on(call: Call) -> JSON:
    return _update(call, "add_on")


@route("/v1/coupons", methods=("POST",))
def create_coupon(call: Call) -> tuple[int, JSON]:
    return _create(call, "coupon")


@route("/v1/coupons", query=LIST_QUERY)
def list_coupons(call: Call) -> JSON:
    return _list(call, "coupon")


@route("/v1/coupons/{coupon_id}")
def get_coupon(call: Call) -> JSON:
    return _get(call, "coupon")


@route("/v1/coupons/{coupon_id}", methods=("PATCH",))
def update_coupon(call: Call) -> JSON:
    return _update(call, "coupon")


@route("/v1/tax_rates", methods=("POST",))
def create_tax_rate(call: Call) -> tuple[int, JSON]:
    return _create(call, "tax_rate")


@route("/v1/tax_rates", query=LIST_QUERY)
def list_tax_rates(call: Call) -> JSON:
    return _list(call, "tax_rate")


@route("/v1/tax_rates/{tax_rate_id}")
def get_tax_rate(call: Call) -> JSON:
    return _get(call, "tax_rate")


@route("/v1/tax_rates/{tax_rate_id}", methods=("PATCH",))
def update_tax_rate(call: Call) -> JSON:
    return _update(call, "tax_rate")


@route("/v1/suppliers", methods=("POST",))
def create_supplier(call: Call) -> tuple[int, JSON]:
    return _create(call, "supplier")


@route("/v1/suppliers", query=LIST_QUERY)
def list_suppliers(call: Call) -> JSON:
    return _list(call, "supplier")


@route("/v1/suppliers/{supplier_id}")
def get_supplier(call: Call) -> JSON:
    return _get(call, "supplier")


@route("/v1/suppliers/{supplier_id}", methods=("PATCH",))
def update_supplier(call: Call) -> JSON:
    return _update(call, "supplier")


@route("/v1/plans/{plan_id}/migrate", methods=("POST",))
def migrate_plan(call: Call) -> tuple[int, JSON]:
    """Move every subscription on older versions of this plan to it at ``effective_date``."""
    from billing.subscriptions.model import Migrate

    return 202, migrations().request(call.scope, call.params["plan_id"], call.body(Migrate)).to_public()
