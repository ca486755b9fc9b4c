"""template.yaml limits each tenant and grants each function only what it uses (issue 9, items 13
and 16): throttles and a usage plan per tenant, reserved concurrency, least-privilege policies, a
TLS-only versioned bucket, retries and dead-letter queues for events, API access logs, and the
authorizer's token shape."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatch
from typing import Any

import pytest

from billing import api_keys
from infra import template

RESOURCES: dict[str, Any] = template.transformed()["Resources"]
BODY: dict[str, Any] = RESOURCES["Api"]["Properties"]["Body"]


def of_type(kind: str) -> dict[str, Any]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


def statements(role_id: str) -> list[dict[str, Any]]:
    """Every Allow statement a function role gets, inline and from the template's managed policies."""
    role = RESOURCES[role_id]["Properties"]
    documents = [policy["PolicyDocument"] for policy in role.get("Policies", [])]
    documents += [RESOURCES[arn["Ref"]]["Properties"]["PolicyDocument"] for arn in role.get("ManagedPolicyArns", [])
                  if isinstance(arn, dict) and "Ref" in arn]  # fmt: skip
    return [s for document in documents for s in document["Statement"] if s["Effect"] == "Allow"]


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def granted(role_id: str, action: str) -> bool:
    return any(fnmatch(action, pattern) for s in statements(role_id) for pattern in actions(s))


FUNCTION_ROLES = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in of_type("AWS::Lambda::Function").values()]


# ---------------------------------------------------------------- item 13: throttling


WEBHOOKS = "/webhooks/{provider}/{endpoint_id}"
PUBLIC = {"/health", WEBHOOKS}  # no API key: liveness, and the providers' signed webhooks
PAGES = ("/pay/", "/portal", "/dashboard")  # no API key either: a link's token, or a session cookie


def method_settings() -> dict[tuple[str, str], dict[str, Any]]:
    (stage,) = of_type("AWS::ApiGateway::Stage").values()
    return {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]}


def test_every_tenant_has_its_own_rate_under_a_stage_wide_one() -> None:
    setting = method_settings()[("/*", "*")]
    (plan,) = of_type("AWS::ApiGateway::UsagePlan").values()
    throttle = plan["Properties"]["Throttle"]
    assert 0 < throttle["RateLimit"] < setting["ThrottlingRateLimit"]
    assert 0 < throttle["BurstLimit"] < setting["ThrottlingBurstLimit"]
    assert plan["Properties"]["ApiStages"] == [{"ApiId": {"Ref": "Api"}, "Stage": {"Ref": "ApiStage"}}]
    assert plan["Properties"]["UsagePlanName"] == {"Fn::Sub": "${AWS::StackName}-tenants"}


def test_the_authorizer_names_the_usage_plan_key_of_every_keyed_route() -> None:
    assert RESOURCES["Api"]["Properties"]["ApiKeySourceType"] == "AUTHORIZER"
    for path, methods in BODY["paths"].items():
        for method, operation in methods.items():
            schemes = {name for requirement in operation.get("security", []) for name in requirement}
            public = path in PUBLIC or path.startswith(PAGES)  # the checkout's, the portal's, the dashboard's
            expected = set() if public else {"ApiKeyAuthorizer", "api_key"}
            assert schemes == expected, (path, method)


def test_the_public_routes_have_a_throttle_and_webhooks_a_concurrency_of_their_own() -> None:
    """No key, so no usage plan: each public route (webhooks, checkout pages) gets a stage
    throttle below the stage-wide one, and the webhooks' function reserved concurrency, so a
    flood never starves the API."""
    settings = method_settings()
    webhooks = settings[("/~1webhooks~1{provider}~1{endpoint_id}", "POST")]
    assert 0 < webhooks["ThrottlingRateLimit"] < settings[("/*", "*")]["ThrottlingRateLimit"]
    assert 0 < webhooks["ThrottlingBurstLimit"] < settings[("/*", "*")]["ThrottlingBurstLimit"]
    public = {
        ("/" + path.replace("/", "~1"), method.upper())
        for path, operations in BODY["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
        and path != "/health"
        and (path in PUBLIC or path.startswith(PAGES))
    }
    assert set(method_settings()) == {("/*", "*")} | public  # every public route has its own
    for route in public:
        assert 0 < settings[route]["ThrottlingRateLimit"] < settings[("/*", "*")]["ThrottlingRateLimit"], route
    assert list(BODY["paths"][WEBHOOKS]) == ["post"]
    assert RESOURCES["WebhookFunction"]["Properties"]["ReservedConcurrentExecutions"] > 0


def test_the_authorizer_and_the_usage_aggregator_keep_their_own_concurrency() -> None:
    for name in ("AuthorizerFunction", "UsageAggregatorFunction"):
        assert RESOURCES[name]["Properties"]["ReservedConcurrentExecutions"] > 0, name


def test_throttled_requests_get_429_in_the_error_envelope() -> None:
    response = BODY["x-amazon-apigateway-gateway-responses"]["THROTTLED"]
    assert response["statusCode"] == "429"
    error = json.loads(response["responseTemplates"]["application/json"])["error"]
    assert (error["type"], error["code"], error["param"]) == ("rate_limit_error", "rate_limited", None)
    assert response["responseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"


# -------------------------------------------------------- item 16: least privilege


@pytest.mark.parametrize("role_id", FUNCTION_ROLES)
def test_no_function_may_scan_or_administer_a_table(role_id: str) -> None:
    for action in ("dynamodb:Scan", "dynamodb:PartiQLSelect", "dynamodb:DeleteTable", "dynamodb:UpdateTable"):
        assert not granted(role_id, action), (role_id, action)


@pytest.mark.parametrize("role_id", FUNCTION_ROLES)
def test_no_function_may_delete_documents_or_change_their_acls_or_lifecycle(role_id: str) -> None:
    for action in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl", "s3:PutBucketAcl",
                   "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy", "s3:DeleteBucket"):  # fmt: skip
        assert not granted(role_id, action), (role_id, action)


def test_the_api_reads_and_writes_documents() -> None:
    assert granted("ApiFunctionRole", "s3:GetObject") and granted("ApiFunctionRole", "s3:PutObject")
    assert granted("ApiFunctionRole", "s3:ListBucket")  # a missing document is a 404, not a 403


@pytest.mark.parametrize("role_id", FUNCTION_ROLES)
def test_only_functions_that_render_documents_reach_them(role_id: str) -> None:
    """PDFs are rendered by the API (on request), the dunning run (a final notice's) and the
    notifier (a mail attaches the same kept PDF); the invoice run finalizes without them."""
    renders = {"ApiFunctionRole", "NotificationFunctionRole", "DunningRunFunctionRole"}
    for action in ("s3:GetObject", "s3:PutObject"):
        assert granted(role_id, action) == (role_id in renders), (role_id, action)


def test_the_authorizer_only_reads_api_key_items() -> None:
    dynamodb = [s for s in statements("AuthorizerFunctionRole") if any(a.startswith("dynamodb:") for a in actions(s))]
    (statement,) = dynamodb
    assert actions(statement) == ["dynamodb:GetItem"]
    assert statement["Resource"] == {"Fn::GetAtt": ["BillingTable", "Arn"]}  # the table, no index
    (pattern,) = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert pattern == "APIKEY#*"  # what it reads, tests/integration/test_authorizer_access.py


KEYS: dict[str, dict[str, Any]] = {
    "ProviderCredentialsKey": {
        "use": {
            "kms:Encrypt": {"ApiFunctionRole"},
            "kms:Decrypt": {
                "ApiFunctionRole",
                "WebhookFunctionRole",
                "ProviderEventFunctionRole",
                "InvoiceChargeFunctionRole",
            },
        },
        "context": ["mode", "provider", "tenant_id"],  # billing.payments.accounts.context
        "variable": "PROVIDER_CREDENTIALS_KEY",
    },
    "WebhookSecretsKey": {
        "use": {"kms:Encrypt": {"ApiFunctionRole"}, "kms:Decrypt": {"WebhookDeliveryFunctionRole"}},
        "context": ["mode", "tenant_id", "webhook_endpoint"],  # billing.webhooks_out.ports.context
        "variable": "WEBHOOK_SECRETS_KEY",
    },
}
"""Who seals and who opens what. Provider credentials: sealed by the API (``PUT
/v1/payment_providers``), opened by the API (a checkout page starts a checkout at the provider),
webhooks (verified with the secret), their processor (``Payments.apply`` asks the provider) and
the saved-card charger (``billing.payments.off_session``). Outbound webhook secrets: sealed by
the API (``POST /v1/webhook_endpoints``), opened by the delivery function alone, to sign."""


def granted_on(role_id: str, action: str, key: str) -> bool:
    return any(fnmatch(action, pattern) for s in statements(role_id) for pattern in actions(s)
               if s["Resource"] == {"Fn::GetAtt": [key, "Arn"]})  # fmt: skip


@pytest.mark.parametrize("role_id", FUNCTION_ROLES)
def test_only_the_functions_that_seal_or_open_secrets_use_the_keys(role_id: str) -> None:
    for key, rules in KEYS.items():
        for action, roles in rules["use"].items():
            assert granted_on(role_id, action, key) == (role_id in roles), (role_id, action, key)
    for action in ("kms:CreateGrant", "kms:ReEncryptFrom", "kms:GenerateDataKey", "kms:ScheduleKeyDeletion"):
        assert not granted(role_id, action), (role_id, action)
    for statement in statements(role_id):
        if any(action.startswith("kms:") for action in actions(statement)):
            (key,) = [key for key in KEYS if statement["Resource"] == {"Fn::GetAtt": [key, "Arn"]}]
            context = statement["Condition"]["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"]
            assert sorted(context) == KEYS[key]["context"]
            assert statement["Condition"]["Null"] == {"kms:EncryptionContext:tenant_id": "false"}  # not none at all


@pytest.mark.parametrize(
    ("role_id", "key"),
    sorted({(role, key) for key, rules in KEYS.items() for roles in rules["use"].values() for role in roles}),
)
def test_a_function_that_uses_a_key_is_told_which_it_is(role_id: str, key: str) -> None:
    """A grant alone is not enough: ``KmsCipher`` reads the key id from the environment."""
    function = RESOURCES[role_id.removesuffix("Role")]
    assert function["Properties"]["Environment"]["Variables"][KEYS[key]["variable"]] == {"Ref": key}


@pytest.mark.parametrize("key_id", sorted(KEYS))
def test_the_keys_rotate_and_outlive_the_stack(key_id: str) -> None:
    key = RESOURCES[key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == key["UpdateReplacePolicy"] == "Retain"


def test_the_webhook_function_reads_endpoints_and_accounts_and_stores_events_only() -> None:
    """Public, so its role is narrow: no index, no update or delete, only its own keys
    (billing/adapters/dynamodb/provider_accounts.py, provider_events.py), and one queue."""
    dynamodb = {
        action: statement
        for statement in statements("WebhookFunctionRole")
        for action in actions(statement)
        if action.startswith("dynamodb:")
    }
    assert set(dynamodb) == {"dynamodb:GetItem", "dynamodb:PutItem"}
    leading = {a: s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] for a, s in dynamodb.items()}
    assert leading == {"dynamodb:GetItem": ["WHEP#*", "*#PPA", "*#PEVT#*"], "dynamodb:PutItem": ["*#PEVT#*"]}
    assert all(s["Resource"] == {"Fn::GetAtt": ["BillingTable", "Arn"]} for s in dynamodb.values())
    queues = [s["Resource"] for s in statements("WebhookFunctionRole")
              if any(fnmatch("sqs:SendMessage", action) for action in actions(s))]  # fmt: skip
    assert queues == [{"Fn::Sub": ["arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${queueName}",
                                   {"queueName": {"Fn::GetAtt": ["ProviderEventQueue", "QueueName"]}}]}]  # fmt: skip


def test_verified_provider_events_are_deduplicated_and_dead_lettered() -> None:
    queue = RESOURCES["ProviderEventQueue"]["Properties"]
    assert queue["FifoQueue"] is True and queue["DeduplicationScope"] == "messageGroup"
    dead = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert RESOURCES[dead]["Properties"]["FifoQueue"] is True and queue["RedrivePolicy"]["maxReceiveCount"] > 1
    (mapping,) = [m for m in of_type("AWS::Lambda::EventSourceMapping").values()
                  if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["ProviderEventQueue", "Arn"]}]  # fmt: skip
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["FunctionName"] == {"Ref": "ProviderEventFunction"}


def test_documents_are_versioned_and_served_over_tls_only() -> None:
    bucket = RESOURCES["DocumentsBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (policy,) = of_type("AWS::S3::BucketPolicy").values()
    assert policy["Properties"]["Bucket"] == {"Ref": "DocumentsBucket"}
    denials = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and s["Action"] == "s3:*" for s in denials)


def test_rules_and_schedules_retry_then_dead_letter() -> None:
    targets = [t for rule in of_type("AWS::Events::Rule").values() for t in rule["Properties"]["Targets"]]
    targets += [schedule["Properties"]["Target"] for schedule in of_type("AWS::Scheduler::Schedule").values()]
    assert targets
    for target in targets:
        assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0, target
        queue = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        assert RESOURCES[queue]["Type"] == "AWS::SQS::Queue", target
    allowed = [
        s["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][0]
        for policy in of_type("AWS::SQS::QueuePolicy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Principal"] == {"Service": "events.amazonaws.com"}
        and policy["Properties"]["Queues"] == [{"Ref": "UndeliveredEventsQueue"}]
    ]
    assert sorted(allowed) == sorted(of_type("AWS::Events::Rule"))  # each rule may dead-letter there


def test_the_api_writes_access_logs() -> None:
    (stage,) = of_type("AWS::ApiGateway::Stage").values()
    logs = stage["Properties"]["AccessLogSetting"]
    assert RESOURCES[logs["DestinationArn"]["Fn::GetAtt"][0]]["Type"] == "AWS::Logs::LogGroup"
    fields = json.loads(logs["Format"])
    assert fields["requestId"] == "$context.requestId" and fields["status"] == "$context.status"
    assert RESOURCES["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]
    }
    assert RESOURCES["Api"]["DependsOn"] == "ApiGatewayAccount"


def _identity() -> re.Pattern[str]:
    authorizer = BODY["securityDefinitions"]["ApiKeyAuthorizer"]["x-amazon-apigateway-authorizer"]
    return re.compile(authorizer["identityValidationExpression"])


def test_the_authorizer_is_only_called_for_tokens_shaped_like_a_key() -> None:
    """The gateway's expression accepts exactly what billing.api_keys would look up."""
    test, live = api_keys.generate(False), api_keys.generate(True)
    headers = [f"Bearer {test}", f"Bearer {live}", f"bearer  {test}", f"BEARER {live}",  # accepted
               "Bearer not-a-key", "Basic dXNlcjpwYXNz", f"Bearer {test}x", f"Bearer {test[:-1]}",
               f"Token {test}", f"Bearer sk_prod_{'A' * 43}", "Bearer", ""]  # fmt: skip
    for header in headers:
        secret = api_keys.bearer_token(header)
        expected = secret is not None and api_keys.is_well_formed(secret)
        assert bool(_identity().search(header)) == expected, header
    assert sum(bool(_identity().search(h)) for h in headers) == 4


def _leading_keys(role_id: str) -> dict[str, list[str]]:
    """Each DynamoDB action of a role and the leading keys it is limited to (all on the table)."""
    found: dict[str, list[str]] = {}
    for statement in statements(role_id):
        for action in actions(statement):
            if action.startswith("dynamodb:"):
                assert statement["Resource"] == {"Fn::GetAtt": ["BillingTable", "Arn"]}, (role_id, action)
                keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                found[action] = sorted(found.get(action, []) + keys)
    return found


def test_the_outbound_webhook_functions_reach_only_endpoints_and_deliveries() -> None:
    """billing/adapters/dynamodb/webhook_endpoints.py: endpoints ``{scope}#WHO``, deliveries
    ``{scope}#WHD#...``; only the delivery function opens secrets and talks to endpoints."""
    assert _leading_keys("WebhookFanoutFunctionRole") == {
        "dynamodb:Query": ["*#WHO"], "dynamodb:GetItem": ["*#WHD#*"], "dynamodb:PutItem": ["*#WHD#*"]}  # fmt: skip
    assert _leading_keys("WebhookDeliveryFunctionRole") == {
        "dynamodb:GetItem": ["*#WHD#*", "*#WHO"], "dynamodb:UpdateItem": ["*#WHD#*"]}  # fmt: skip
    postpone = [s["Resource"] for s in statements("WebhookDeliveryFunctionRole")
                if "sqs:ChangeMessageVisibility" in actions(s)]  # fmt: skip
    assert postpone == [{"Fn::GetAtt": ["WebhookDeliveryQueue", "Arn"]}]


def test_deliveries_are_retried_as_often_as_the_schedule_says_then_dead_lettered() -> None:
    from billing.webhooks_out.retries import MAX_ATTEMPTS, SCHEDULE

    queue = RESOURCES["WebhookDeliveryQueue"]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_ATTEMPTS
    dead = queue["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert RESOURCES[dead]["Properties"]["MessageRetentionPeriod"] == 1209600
    assert max(delay.total_seconds() for delay in SCHEDULE) <= 43_200  # SQS's longest visibility timeout
    function = RESOURCES["WebhookDeliveryFunction"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    (mapping,) = [m for m in of_type("AWS::Lambda::EventSourceMapping").values()
                  if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["WebhookDeliveryQueue", "Arn"]}]  # fmt: skip
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["Properties"]["BatchSize"] * 15 < function["Timeout"]  # 15 s: one attempt's bound


def test_the_notifier_reads_customers_and_branding_and_writes_only_its_log_and_counter() -> None:
    """billing/adapters/dynamodb/notifications.py: the log ``{scope}#NTF#...``, the per-tenant
    allowance ``{tenant}#NTFRATE#...``; mail from SES identities only, SMS without topics."""
    assert _leading_keys("NotificationFunctionRole") == {
        "dynamodb:GetItem": sorted(["*#CUS#*", "*#SETTINGS", "TENANT#*", "*#NTF#*"]),
        "dynamodb:PutItem": ["*#NTF#*"], "dynamodb:UpdateItem": ["*#NTFRATE#*"]}  # fmt: skip
    assert granted("NotificationFunctionRole", "ses:SendRawEmail") and granted(
        "NotificationFunctionRole", "sns:Publish"
    )
    policies = RESOURCES["NotificationFunctionRole"]["Properties"]["Policies"]
    denied = [s for p in policies for s in p["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert [(s["Action"], s["Resource"]) for s in denied] == [
        ("sns:Publish", {"Fn::Sub": "arn:${AWS::Partition}:sns:*:*:*"})
    ]
    for role_id in FUNCTION_ROLES:
        if role_id != "NotificationFunctionRole":
            assert not granted(role_id, "ses:SendRawEmail") and not granted(role_id, "sns:Publish"), role_id
    (mapping,) = [m for m in of_type("AWS::Lambda::EventSourceMapping").values()
                  if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": ["NotificationQueue", "Arn"]}]  # fmt: skip
    assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = RESOURCES["NotificationQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["NotificationDeadLetterQueue", "Arn"]}
