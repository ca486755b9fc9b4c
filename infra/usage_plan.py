"""Each tenant's key in the API's usage plan (template.yaml, ``TenantUsagePlan``).

The authorizer names the tenant id as the request's usage plan key, and API Gateway applies
the plan's throttle to each key, so every tenant has its own request rate. A key the
authorizer names must be in the plan, or API Gateway refuses the request (403): `billing
tenant create` adds the new tenant's key, and `billing tenant sync-usage-plan` adds every
tenant's (once, after deploying over tenants created before the plan). Both are idempotent.
The local gateway applies the plan's throttle to every key without checking membership.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError


def plan_name(stack_name: str) -> str:
    """The plan's name, as template.yaml sets it."""
    return f"{stack_name}-tenants"


def register(tenant_id: str, stack_name: str) -> bool:
    """Put the tenant's key (value: the tenant id) in the stack's plan; False if the stack has none."""
    apigateway = boto3.client("apigateway")
    plan_id = _plan_id(apigateway, plan_name(stack_name))
    if plan_id is None:
        return False
    key_id = (
        _key_id(apigateway, tenant_id)
        or apigateway.create_api_key(
            name=tenant_id, value=tenant_id, enabled=True, description="Usage plan key of a tenant (its request rate)"
        )["id"]
    )
    try:
        apigateway.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConflictException":  # already in the plan
            raise
    return True


def _plan_id(apigateway: Any, name: str) -> str | None:
    for page in apigateway.get_paginator("get_usage_plans").paginate():
        for plan in page.get("items", []):
            if plan["name"] == name:
                return str(plan["id"])
    return None


def _key_id(apigateway: Any, tenant_id: str) -> str | None:
    for page in apigateway.get_paginator("get_api_keys").paginate(nameQuery=tenant_id, includeValues=True):
        for key in page.get("items", []):
            if key.get("value") == tenant_id:
                return str(key["id"])
    return None
