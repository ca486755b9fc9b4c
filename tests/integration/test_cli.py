"""The `billing` console script manages tenants and keys on the running endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api


def billing(stack: EmbeddedStack, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI against the stack; ``env`` adds to (or overrides) its environment."""
    base = {**os.environ, "AWS_ENDPOINT_URL": stack.endpoint_url, "STACK_NAME": stack.config.stack_name}
    base.pop("BILLING_TABLE", None)
    env = {**base, **(env or {})}
    exe = os.path.join(os.path.dirname(sys.executable), "billing")
    return subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_tenant_create_prints_a_working_key(stack: EmbeddedStack, api: Api) -> None:
    result = billing(stack, "tenant", "create", "--name", "CLI Co", "--json")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["tenant_id"].startswith("ten_") and created["api_key"].startswith("sk_test_")
    assert api.get("/v1/customers", created["api_key"]).status == 200


def test_api_keys_can_be_added_and_revoked(stack: EmbeddedStack, api: Api) -> None:
    tenant = json.loads(billing(stack, "tenant", "create", "--name", "Keys Co", "--json").stdout)
    extra = json.loads(billing(stack, "api-key", "create", "--tenant", tenant["tenant_id"], "--live", "--json").stdout)
    assert extra["api_key"].startswith("sk_live_")
    revoked = billing(stack, "api-key", "revoke", "--tenant", tenant["tenant_id"], tenant["key_id"])
    assert revoked.returncode == 0, revoked.stderr
    assert api.get("/v1/customers", tenant["api_key"]).status == 401
    assert api.get("/v1/customers", extra["api_key"]).status == 200


def test_unknown_tenant_is_a_clear_error(stack: EmbeddedStack) -> None:
    result = billing(stack, "api-key", "create", "--tenant", "ten_missing")
    assert result.returncode == 1 and "No such tenant" in result.stderr


def test_invoices_run_shows_progress_until_the_workers_complete_it(stack: EmbeddedStack, api: Api) -> None:
    tenant = json.loads(billing(stack, "tenant", "create", "--name", "Run Co", "--json").stdout)
    key = tenant["api_key"]
    api.post(
        "/v1/plans", key, {"code": "basic", "name": "Basic", "currency": "EUR", "interval": "month", "base_fee": 900}
    )
    for n in range(3):
        customer = api.post("/v1/customers", key, {"name": f"Run {n}"}).body["id"]
        assert api.post("/v1/subscriptions", key, {"customer": customer, "plan": "basic"}).status == 201
    env = {**os.environ, "AWS_ENDPOINT_URL": stack.endpoint_url, "STACK_NAME": stack.config.stack_name}
    env.pop("BILLING_TABLE", None)
    exe = os.path.join(os.path.dirname(sys.executable), "billing")
    command = [exe, "invoices", "run", "--tenant", tenant["tenant_id"], "--timeout", "120"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert stack.plumbing is not None
    while process.poll() is None:  # the queue workers of `billing up`, here in the test process
        stack.plumbing.drain()
    out, err = process.communicate()
    assert process.returncode == 0, err
    assert "Started 1 invoice run(s)" in out and "3 invoices drafted" in out
    assert len(api.get("/v1/invoices", key).body["data"]) == 3
