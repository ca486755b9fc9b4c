"""Integration fixtures: the API called in-process through the local API Gateway."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.config import Config

from billing.adapters.dynamodb.tenants import DynamoTenantRepository
from billing.tenants import TenantService
from infra.local.gateway import ApiSettings, Gateway
from infra.local.stack import EmbeddedStack


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any
    raw: bytes = b""


class Api:
    """Sends requests through the same gateway code the local server uses."""

    def __init__(self, stack: EmbeddedStack, settings: ApiSettings | None = None) -> None:
        app = stack.api_app()
        self._gateway = Gateway(app, Config.create(app_name=app.app_name), settings or stack.api_settings())

    def request(self, method: str, path: str, key: str | None = None, body: Any = None, **headers: str) -> Reply:
        sent = {"content-type": "application/json", **{k.replace("_", "-"): v for k, v in headers.items()}}
        if key is not None:
            sent["authorization"] = f"Bearer {key}"
        raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
        response = self._gateway.handle_request(method, path, sent, raw)
        content = response["body"]
        if response.get("isBase64Encoded"):
            content = base64.b64decode(content)
        if response["headers"].get("Content-Type", "").startswith("application/json"):
            return Reply(response["statusCode"], response["headers"], json.loads(content) if content else None)
        return Reply(
            response["statusCode"],
            response["headers"],
            None,
            content if isinstance(content, bytes) else content.encode(),
        )

    def get(self, path: str, key: str | None = None, **headers: str) -> Reply:
        return self.request("GET", path, key, **headers)

    def post(self, path: str, key: str | None = None, body: Any = None, **headers: str) -> Reply:
        return self.request("POST", path, key, body, **headers)

    def patch(self, path: str, key: str | None = None, body: Any = None, **headers: str) -> Reply:
        return self.request("PATCH", path, key, body, **headers)

    def delete(self, path: str, key: str | None = None, **headers: str) -> Reply:
        return self.request("DELETE", path, key, **headers)


@pytest.fixture(scope="session")
def api(stack: EmbeddedStack) -> Api:
    return Api(stack)


@pytest.fixture(scope="session")
def served(stack: EmbeddedStack) -> str:
    """The API over HTTP, where the stack's ``PUBLIC_BASE_URL`` points (providers' webhooks reach
    it there); its URL."""
    stack.serve_api()
    return stack.api_url


@pytest.fixture(scope="session")
def tenants(stack: EmbeddedStack) -> TenantService:
    return TenantService(DynamoTenantRepository())


@pytest.fixture
def key(tenants: TenantService) -> str:
    """A test-mode key of a fresh tenant."""
    return tenants.create_tenant("Tenant A")[1].secret


@pytest.fixture
def other_key(tenants: TenantService) -> str:
    return tenants.create_tenant("Tenant B")[1].secret
