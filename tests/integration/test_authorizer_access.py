"""The authorizer does only what its IAM policy in template.yaml allows: it reads API-key items
(``dynamodb:LeadingKeys`` ``APIKEY#*``) with GetItem, and nothing at all for a token that is not
shaped like a key (the gateway refuses it first)."""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatch
from typing import Any

import pytest

from billing.adapters.dynamodb import table
from billing.tenants import TenantService
from infra import template
from infra.local.functions import LambdaContext, load_handler
from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api

Call = tuple[str, str]  # (operation, partition key)
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/v1/customers"


@pytest.fixture
def dynamodb_calls() -> Iterator[list[Call]]:
    """Every DynamoDB request this process makes while the test runs."""
    calls: list[Call] = []

    def record(params: dict[str, Any], event_name: str, **_: Any) -> None:
        calls.append((event_name.rsplit(".", 1)[1], params.get("Key", {}).get("PK", {}).get("S", "")))

    events = table.client().meta.events
    events.register("provide-client-params.dynamodb.*", record, unique_id="authorizer-access")
    yield calls
    events.unregister("provide-client-params.dynamodb.*", unique_id="authorizer-access")


def _allowed(call: Call) -> bool:
    """Whether the authorizer's statements in the transformed template allow ``call``."""
    role = template.transformed()["Resources"]["AuthorizerFunctionRole"]["Properties"]
    for policy in role["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            prefixes = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
            if statement["Action"] == f"dynamodb:{call[0]}" and any(fnmatch(call[1], p) for p in prefixes):
                return True
    return False


def test_the_authorizer_reads_only_what_its_policy_allows(
    stack: EmbeddedStack, api: Api, tenants: TenantService, dynamodb_calls: list[Call]
) -> None:
    assert stack.stack is not None
    authorizer = load_handler("AuthorizerFunction", stack.stack.template["Resources"]["AuthorizerFunction"])
    tenant, issued = tenants.create_tenant("Least privilege")
    revoked = tenants.create_key(tenant.id)
    tenants.revoke_key(tenant.id, revoked.key.id)

    for secret in (issued.secret, revoked.secret, "sk_test_" + "B" * 43):  # valid, revoked, unknown
        dynamodb_calls.clear()
        event = {"type": "TOKEN", "authorizationToken": f"Bearer {secret}", "methodArn": METHOD_ARN}
        authorizer(event, LambdaContext("AuthorizerFunction"))
        assert dynamodb_calls and all(_allowed(call) for call in dynamodb_calls), dynamodb_calls

    dynamodb_calls.clear()
    assert api.get("/v1/customers", "not-a-key").status == 401  # refused by its shape, by the gateway
    assert dynamodb_calls == []
