"""The `billing` console script manages tenants and keys on the running endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from billing.adapters import services
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


def test_ledger_check_passes_a_consistent_tenant_and_names_what_was_altered(
    stack: EmbeddedStack, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.adapters.dynamodb import ledger, table
    from billing.scope import Scope
    from infra import cli

    tenant = json.loads(billing(stack, "tenant", "create", "--name", "Ledger Co", "--json").stdout)
    key, scope = tenant["api_key"], Scope(tenant["tenant_id"], livemode=False)
    payers = [api.post("/v1/customers", key, {"name": f"Payer {n}", "currency": "EUR"}).body["id"] for n in range(3)]
    for payer in payers:
        paid = {"customer": payer, "amount": 700, "currency": "EUR", "channel": "cash_desk"}
        assert api.post("/v1/payments", key, paid).status == 201
    assert api.delete(f"/v1/customers/{payers[2]}", key).status == 200  # archived customers are checked too
    passed = billing(stack, "ledger", "check", "--tenant", tenant["tenant_id"])
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "3 customer(s) of 1 tenant(s): 0 problem(s)" in passed.stdout

    def alter(request: dict[str, object]) -> None:
        table.client().update_item(TableName=table.table_name(), **table.encode({}), **request)

    balances = table.encode(ledger.balances_key(scope, payers[2]))
    alter({"Key": balances, "UpdateExpression": "ADD #a :v", "ExpressionAttributeNames": {"#a": "acct:cash:offline"},
           "ExpressionAttributeValues": table.encode({":v": 5})})  # fmt: skip
    [entry] = table.query_all(f"{scope.key}#JRN#{payers[0]}", consistent=True)
    postings = [[account, debit + (account == "cash:offline"), credit] for account, debit, credit in entry["p"]]
    alter({"Key": table.encode({"PK": entry["PK"], "SK": entry["SK"]}), "UpdateExpression": "SET p = :p",
           "ExpressionAttributeValues": table.encode({":p": postings})})  # fmt: skip
    failed = billing(stack, "ledger", "check", "--tenant", tenant["tenant_id"])
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"customer {payers[2]}: account cash:offline: stored balance 705, postings sum to 700" in failed.stdout
    assert f"customer {payers[0]}: entry {entry['id']} does not balance: debits 701, credits 700" in failed.stdout
    assert f"customer {payers[0]}: account cash:offline: stored balance 700, postings sum to 701" in failed.stdout
    assert payers[1] not in failed.stdout and failed.stdout.splitlines()[-1].endswith(": 3 problem(s).")
    # without --tenant, every tenant is checked (here the tenants are this one and a clean one)
    clean = json.loads(billing(stack, "tenant", "create", "--name", "Clean Co", "--json").stdout)["tenant_id"]
    monkeypatch.setattr(cli, "print", lambda *args, **kwargs: None, raising=False)
    monkeypatch.setattr(services.tenants(), "tenant_ids", lambda: [clean, tenant["tenant_id"]])
    assert (cli.ledger_check(None), cli.ledger_check(clean)) == (1, 0)
