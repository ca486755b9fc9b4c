"""``/v1/webhook_endpoints``: where the tenant's own systems get the domain events, signed
(``billing.webhooks_out``). The secret is answered once, by the POST that makes the endpoint;
deliveries happen in the background (fan-out and delivery functions), and their log is read
here. The views import the domain when first called, as the services load."""

from __future__ import annotations

from typing import Any

from billing.adapters.services import webhook_endpoints
from chalicelib.http import Call, route

PAGE_QUERY = frozenset({"limit", "starting_after"})


@route("/v1/webhook_endpoints", methods=("POST",))
def create_webhook_endpoint(call: Call) -> tuple[int, dict[str, Any]]:
    from billing.webhooks_out.model import EndpointCreate

    endpoint, secret = webhook_endpoints().create(call.scope, call.body(EndpointCreate))
    return 201, {**endpoint.to_public(), "secret": secret}


@route("/v1/webhook_endpoints")
def list_webhook_endpoints(call: Call) -> dict[str, Any]:
    from billing.pagination import Page

    return Page.whole(webhook_endpoints().list(call.scope)).to_public(lambda endpoint: endpoint.to_public())


@route("/v1/webhook_endpoints/{webhook_endpoint_id}")
def get_webhook_endpoint(call: Call) -> dict[str, Any]:
    return webhook_endpoints().get(call.scope, call.params["webhook_endpoint_id"]).to_public()


@route("/v1/webhook_endpoints/{webhook_endpoint_id}", methods=("PATCH",))
def update_webhook_endpoint(call: Call) -> dict[str, Any]:
    from billing.webhooks_out.model import EndpointUpdate

    update = call.optional_body(EndpointUpdate)
    return webhook_endpoints().update(call.scope, call.params["webhook_endpoint_id"], update).to_public()


@route("/v1/webhook_endpoints/{webhook_endpoint_id}", methods=("DELETE",))
def delete_webhook_endpoint(call: Call) -> dict[str, Any]:
    endpoint = webhook_endpoints().delete(call.scope, call.params["webhook_endpoint_id"])
    return {"object": "webhook_endpoint", "id": endpoint.id, "deleted": True}


@route("/v1/webhook_endpoints/{webhook_endpoint_id}/deliveries", query=PAGE_QUERY)
def list_webhook_deliveries(call: Call) -> dict[str, Any]:
    from billing.pagination import page_request
    from billing.webhooks_out.model import DELIVERY_PREFIX

    request = page_request(call.query, DELIVERY_PREFIX)
    page = webhook_endpoints().deliveries(call.scope, call.params["webhook_endpoint_id"], request)
    return page.to_public(lambda delivery: delivery.to_public())


@route("/v1/webhook_endpoints/{webhook_endpoint_id}/test", methods=("POST",))
def test_webhook_endpoint(call: Call) -> tuple[int, dict[str, Any]]:
    return 202, webhook_endpoints().test(call.scope, call.params["webhook_endpoint_id"]).to_public()
