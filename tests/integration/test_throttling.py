"""Each tenant has its own request rate (template.yaml's usage plan): past its burst a tenant gets
429 in the error envelope, while other tenants go on; `billing tenant create` puts the tenant's
key in the plan, and the authorizer names that key."""

from __future__ import annotations

import json

import boto3

from billing.tenants import TenantService
from infra import template
from infra.local.functions import LambdaContext, load_handler
from infra.local.gateway import ApiSettings
from infra.local.stack import EmbeddedStack
from infra.usage_plan import plan_name
from tests.integration.conftest import Api
from tests.integration.test_cli import billing


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_tenant_past_its_burst_gets_429_and_the_others_do_not(stack: EmbeddedStack, tenants: TenantService) -> None:
    assert stack.stack is not None
    clock = Clock()  # time stands still unless the test moves it
    settings = ApiSettings.of(stack.stack.template, clock=clock)
    assert settings.throttle is not None
    api = Api(stack, settings)
    busy, calm = tenants.create_tenant("Busy")[1].secret, tenants.create_tenant("Calm")[1].secret

    assert all(api.get("/v1/settings", busy).status == 200 for _ in range(settings.throttle.burst))
    throttled = api.get("/v1/settings", busy)
    assert throttled.status == 429
    assert throttled.body == {
        "error": {
            "type": "rate_limit_error",
            "code": "rate_limited",
            "message": "Too many requests: slow down and retry after a second.",
            "param": None,
        }
    }
    assert throttled.headers["Retry-After"] == "1" and throttled.headers["X-Request-Id"]
    assert api.get("/v1/settings", calm).status == 200  # another tenant is not held back

    clock.now += 0.25  # a quarter of a second refills a quarter of the rate
    refilled = int(settings.throttle.rate / 4)
    assert [api.get("/v1/settings", busy).status for _ in range(refilled + 1)] == [200] * refilled + [429]
    assert api.get("/health").status == 200  # no key, no tenant limit


def test_tenant_create_puts_the_tenant_in_the_plan_the_authorizer_names(stack: EmbeddedStack) -> None:
    created = json.loads(billing(stack, "tenant", "create", "--name", "Planned", "--json").stdout)
    apigateway = boto3.client("apigateway")
    (plan,) = [p for p in apigateway.get_usage_plans()["items"] if p["name"] == plan_name(stack.config.stack_name)]
    throttle = template.load()["Resources"]["TenantUsagePlan"]["Properties"]["Throttle"]
    assert plan["throttle"] == {"rateLimit": throttle["RateLimit"], "burstLimit": throttle["BurstLimit"]}
    keys = apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert [key["value"] for key in keys].count(created["tenant_id"]) == 1

    synced = billing(stack, "tenant", "sync-usage-plan")  # every tenant, idempotently
    assert synced.returncode == 0, synced.stderr
    keys = apigateway.get_usage_plan_keys(usagePlanId=plan["id"], limit=500)["items"]
    assert [key["value"] for key in keys].count(created["tenant_id"]) == 1

    assert stack.stack is not None
    resources = stack.stack.template["Resources"]
    authorizer = load_handler("AuthorizerFunction", resources["AuthorizerFunction"])  # as Lambda loads it
    event = {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {created['api_key']}",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/v1/customers",
    }
    result = authorizer(event, LambdaContext("AuthorizerFunction"))
    assert result["usageIdentifierKey"] == created["tenant_id"]


def test_tenant_create_warns_when_the_stack_has_no_plan(stack: EmbeddedStack) -> None:
    """E.g. STACK_NAME not set to the deployed stack's: the tenant exists, but API Gateway would refuse it."""
    assert stack.stack is not None
    refs = stack.stack.refs
    env = {"STACK_NAME": "elsewhere", "BILLING_TABLE": refs["BillingTable"], "USAGE_TABLE": refs["UsageTable"],
           "INVOICE_RUN_QUEUE_URL": refs["InvoiceRunQueue"]}  # fmt: skip
    result = billing(stack, "tenant", "create", "--name", "Unplanned", "--json", env=env)
    assert result.returncode == 0 and json.loads(result.stdout)["tenant_id"].startswith("ten_")
    assert "warning: no usage plan elsewhere-tenants" in result.stderr
    assert billing(stack, "tenant", "sync-usage-plan", env=env).returncode == 1
