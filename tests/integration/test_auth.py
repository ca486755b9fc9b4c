"""Every /v1 route needs a valid key; refusals use the error envelope; the request id is echoed."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest

from billing.adapters.dynamodb import table
from billing.adapters.dynamodb.tenants import key_to_item
from billing.errors import NotFound
from billing.ids import new_id
from billing.tenants import ApiKey, TenantService
from tests.integration.conftest import Api


def test_health_needs_no_key(api: Api) -> None:
    reply = api.get("/health")
    assert (reply.status, reply.body) == (200, {"status": "ok"})
    assert reply.headers["X-Request-Id"]


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"authorization": "Bearer not-a-key"}, "missing_api_key"),  # refused by its shape, by the gateway
        ({"authorization": "Bearer sk_test_" + "A" * 43}, "invalid_api_key"),
        ({"authorization": "Basic dXNlcjpwYXNz"}, "missing_api_key"),
    ],
)
def test_requests_without_a_valid_key_get_401(api: Api, headers: dict[str, str], code: str) -> None:
    reply = api.get("/v1/customers", **headers)
    assert reply.status == 401
    assert reply.body["error"]["type"] == "authentication_error"
    assert reply.body["error"]["code"] == code
    assert reply.headers["X-Request-Id"]


def test_a_revoked_key_stops_working_at_once(api: Api, tenants: TenantService) -> None:
    tenant, issued = tenants.create_tenant("Revoker")
    assert api.get("/v1/customers", issued.secret).status == 200
    tenants.revoke_key(tenant.id, issued.key.id)
    reply = api.get("/v1/customers", issued.secret)
    assert reply.status == 401 and reply.body["error"]["code"] == "api_key_revoked"


def test_any_key_can_be_revoked_however_many_the_tenant_has(api: Api, tenants: TenantService) -> None:
    """Revocation used to search only the tenant's newest 1,000 keys: the oldest could not be revoked."""
    tenant, oldest = tenants.create_tenant("Many keys")
    newer = [ApiKey(id=new_id("key"), tenant_id=tenant.id, livemode=False, digest=secrets.token_hex(32), last4="0000",
                    created_at=datetime.now(UTC)) for _ in range(1000)]  # fmt: skip
    table.batch_put(table.table_name(), [key_to_item(key) for key in newer])  # as create_key stores them, at once
    assert tenants.revoke_key(tenant.id, oldest.key.id).id == oldest.key.id
    reply = api.get("/v1/customers", oldest.secret)
    assert reply.status == 401 and reply.body["error"]["code"] == "api_key_revoked"
    with pytest.raises(NotFound):
        tenants.revoke_key(tenants.create_tenant("Other")[0].id, oldest.key.id)  # another tenant's key


def test_unknown_routes_are_404_in_the_envelope(api: Api, key: str) -> None:
    reply = api.get("/v1/nothing-here", key)
    assert reply.status == 404 and reply.body["error"]["code"] == "route_not_found"


def test_each_response_has_its_own_request_id(api: Api, key: str) -> None:
    ids = {api.get("/v1/customers", key).headers["X-Request-Id"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize(("method", "path"), [("PUT", "/v1/customers"), ("TRACE", "/health"), ("FOO", "/v1/customers")])
def test_methods_a_route_lacks_are_404_in_the_envelope(api: Api, key: str, method: str, path: str) -> None:
    reply = api.request(method, path, key)
    assert reply.status == 404 and reply.body["error"]["code"] == "route_not_found"


def test_bodies_are_json_whatever_the_content_type_says(api: Api, key: str) -> None:
    reply = api.post("/v1/customers", key, {"name": "Form"}, content_type="application/x-www-form-urlencoded")
    assert reply.status == 201 and reply.body["name"] == "Form"
