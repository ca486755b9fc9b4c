"""Create every resource of the transformed template on an AWS endpoint (moto, LocalStack).

Used where CloudFormation cannot be: moto's CloudFormation skips or fails on
part of our template. Each supported resource type has one creator; types
that run as code (functions, the API, IAM) are recorded, not created, as the
local stack runs their code in-process. An unknown type is an error, so a
resource added to the template is never silently missing locally.
Provisioning is idempotent: what exists is reused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.intrinsics import Resolver, dependencies

ACCOUNT = "123456789012"

IN_PROCESS = {
    "AWS::Lambda::Function",
    "AWS::Lambda::LayerVersion",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventSourceMapping",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::GatewayResponse",
    "AWS::ApiGateway::Account",
}
# Recorded, not created: only AWS can honour it. The local endpoints serve plain HTTP, which
# the documents bucket's TLS-only policy refuses (moto enforces bucket policies).
AWS_ONLY = {"AWS::S3::BucketPolicy"}


@dataclass
class Stack:
    """What was provisioned: ``Ref`` values and ``GetAtt`` attributes by logical id."""

    name: str
    region: str
    template: dict[str, Any]
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[tuple[str, str], Any] = field(default_factory=dict)

    @property
    def resolve(self) -> Resolver:
        return Resolver(self.refs, self.attributes)

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: res for name, res in self.template["Resources"].items() if res["Type"] == kind}

    def function_environment(self, logical_id: str) -> dict[str, str]:
        props = self.template["Resources"][logical_id]["Properties"]
        variables = props.get("Environment", {}).get("Variables", {})
        return {key: str(value) for key, value in self.resolve(variables).items()}


class Provisioner:
    def __init__(self, endpoint_url: str | None, region: str, stack_name: str):
        self._session = boto3.session.Session(region_name=region)
        self._endpoint = endpoint_url
        self._stack_name = stack_name
        self._region = region
        self._creators: dict[str, Callable[[str, dict[str, Any]], tuple[Any, dict[str, Any]]]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::SNS::Topic": self._topic,
            "AWS::Events::EventBus": self._event_bus,
            "AWS::Events::Rule": self._rule,
            "AWS::SQS::QueuePolicy": self._queue_policy,
            "AWS::S3::Bucket": self._bucket,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::ApiGateway::UsagePlan": self._usage_plan,
            "AWS::SSM::Parameter": self._parameter,
            "AWS::SecretsManager::Secret": self._secret,
            "AWS::SES::EmailIdentity": self._email_identity,
            "AWS::Scheduler::Schedule": self._schedule,
            "AWS::KMS::Key": self._kms_key,
        }

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self._endpoint)

    def provision(self, template: dict[str, Any], parameters: Mapping[str, str] | None = None) -> Stack:
        """Create every resource of ``template``; ``parameters`` override its parameters' defaults."""
        stack = Stack(name=self._stack_name, region=self._region, template=template)
        stack.refs.update(
            {
                "AWS::StackName": self._stack_name,
                "AWS::Region": self._region,
                "AWS::AccountId": ACCOUNT,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
            }
        )
        for name, spec in template.get("Parameters", {}).items():
            stack.refs[name] = (parameters or {}).get(name, spec.get("Default"))
        for logical_id in _creation_order(template["Resources"]):
            resource = template["Resources"][logical_id]
            kind = resource["Type"]
            if kind in IN_PROCESS or kind in AWS_ONLY:
                ref, attributes = self._recorded(logical_id, kind)
            elif kind in self._creators:
                props = stack.resolve(resource.get("Properties", {}))
                ref, attributes = self._creators[kind](logical_id, props)
            else:
                raise NotImplementedError(
                    f"{logical_id}: no local provisioner for {kind}; add one in infra/provision.py"
                )
            stack.refs[logical_id] = ref
            stack.attributes.update({(logical_id, key): value for key, value in attributes.items()})
        return stack

    def _name(self, logical_id: str) -> str:
        return physical_name(self._stack_name, logical_id)

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self._region}:{ACCOUNT}:{resource}"

    def _recorded(self, logical_id: str, kind: str) -> tuple[Any, dict[str, Any]]:
        name = self._name(logical_id)
        service = kind.split("::")[1].lower()
        return name, {"Arn": self._arn(service, f"function:{name}" if service == "lambda" else name)}

    def _table(self, logical_id: str, props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("TableName") or self._name(logical_id)
        dynamodb = self.client("dynamodb")
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
            if key in props:
                request[key] = props[key]
        if "StreamSpecification" in props:
            request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        try:
            dynamodb.create_table(**request)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        ttl = props.get("TimeToLiveSpecification")
        current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if ttl and ttl.get("Enabled") and current.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        description = dynamodb.describe_table(TableName=name)["Table"]
        missing = {i["IndexName"] for i in request.get("GlobalSecondaryIndexes", [])} - {
            i["IndexName"] for i in description.get("GlobalSecondaryIndexes", [])
        }
        if missing:
            raise RuntimeError(f"Table {name} exists without indexes {sorted(missing)}; recreate it")
        return name, {"Arn": description["TableArn"], "StreamArn": description.get("LatestStreamArn")}

    def _queue(self, logical_id: str, props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        fifo = bool(props.get("FifoQueue"))
        name = props.get("QueueName") or self._name(logical_id) + (".fifo" if fifo else "")
        attributes = {
            key: json.dumps(value)
            if isinstance(value, dict)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
            for key, value in props.items()
            if key not in {"QueueName", "Tags", "SqsManagedSseEnabled"}
        }
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return url, {"Arn": self._arn("sqs", name), "QueueName": name, "QueueUrl": url}

    def _topic(self, logical_id: str, props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("TopicName") or self._name(logical_id)
        arn = self.client("sns").create_topic(Name=name)["TopicArn"]
        return arn, {"TopicName": name, "TopicArn": arn}

    def _event_bus(self, logical_id: str, props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props["Name"]
        events = self.client("events")
        try:
            arn = events.create_event_bus(Name=name)["EventBusArn"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
            arn = events.describe_event_bus(Name=name)["Arn"]
        return name, {"Arn": arn, "Name": name}

    def _rule(self, logical_id: str, props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("Name") or self._name(logical_id)
        events = self.client("events")
        request: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
        for key in ("EventBusName", "Description", "ScheduleExpression"):
            if key in props:
                request[key] = props[key]
        if "EventPattern" in props:
            request["EventPattern"] = json.dumps(props["EventPattern"])
        arn = events.put_rule(**request)["RuleArn"]
        targets = props.get("Targets", [])
        for target in targets:
            unsupported = set(target) - {"Id", "Arn", "Input", "InputPath", "RetryPolicy", "DeadLetterConfig"}
            if unsupported:
                raise NotImplementedError(f"{logical_id}: rule target keys {sorted(unsupported)} are not provisioned")
        if targets:
            events.put_targets(Rule=name, EventBusName=props.get("EventBusName", "default"), Targets=targets)
        return name, {"Arn": arn}

    def _queue_policy(self, logical_id: str, props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        sqs = self.client("sqs")
        for url in props["Queues"]:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
        return self._name(logical_id), {}

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("BucketName") or self._name(logical_id).lower()
        s3 = self.client("s3")
        try:
            if self._region == "us-east-1":
                s3.create_bucket(Bucket=name)
            else:
                s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self._region})
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        return name, {"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"}

    def _log_group(self, logical_id: str, props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("LogGroupName") or f"/{self._stack_name}/{logical_id}"
        logs = self.client("logs")
        try:
            logs.create_log_group(logGroupName=name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
        if "RetentionInDays" in props:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        return name, {"Arn": self._arn("logs", f"log-group:{name}:*")}

    def _usage_plan(self, logical_id: str, props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """The plan and its throttle; its API stages are not, as the API runs in-process."""
        name = props.get("UsagePlanName") or self._name(logical_id)
        apigateway = self.client("apigateway")
        plans = apigateway.get_usage_plans(limit=500)["items"]
        plan_id = next((plan["id"] for plan in plans if plan["name"] == name), None)
        if plan_id is None:
            throttle = {
                "rateLimit": float(props["Throttle"]["RateLimit"]),
                "burstLimit": int(props["Throttle"]["BurstLimit"]),
            }
            plan_id = apigateway.create_usage_plan(name=name, throttle=throttle)["id"]
        return plan_id, {"Id": plan_id}

    def _parameter(self, logical_id: str, props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("Name") or f"/{self._stack_name}/{logical_id}"
        self.client("ssm").put_parameter(
            Name=name, Value=str(props["Value"]), Type=props.get("Type", "String"), Overwrite=True
        )
        return name, {"Type": props.get("Type", "String"), "Value": props["Value"]}

    def _secret(self, logical_id: str, props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        name = props.get("Name") or self._name(logical_id)
        secrets = self.client("secretsmanager")
        try:
            arn = secrets.create_secret(Name=name, SecretString=props.get("SecretString", "{}"))["ARN"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceExistsException":
                raise
            arn = secrets.describe_secret(SecretId=name)["ARN"]
        return arn, {"Id": arn}

    def _email_identity(self, logical_id: str, props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        identity = props["EmailIdentity"]
        ses = self.client("ses")
        if "@" in identity:
            ses.verify_email_identity(EmailAddress=identity)
        else:
            ses.verify_domain_identity(Domain=identity)
        return identity, {}

    def _schedule(self, logical_id: str, props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """The schedule is created (moto stores it but never fires it: the local plumbing runs
        it in-process)."""
        name = props.get("Name") or self._name(logical_id)
        scheduler = self.client("scheduler")
        request = {
            k: props[k] for k in ("ScheduleExpression", "FlexibleTimeWindow", "Target", "Description") if k in props
        }
        try:
            arn = scheduler.create_schedule(Name=name, **request)["ScheduleArn"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConflictException":
                raise
            arn = scheduler.get_schedule(Name=name)["Arn"]
        return name, {"Arn": arn}

    def _kms_key(self, logical_id: str, props: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """A symmetric key with the template's policy, found again on the next start by an alias
        named after it (a KMS key has no name of its own)."""
        kms = self.client("kms")
        alias = f"alias/{self._name(logical_id)}"
        try:
            key_id = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NotFoundException":
                raise
            request = {
                "Description": props.get("Description", ""),
                "KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT"),
                "KeySpec": props.get("KeySpec", "SYMMETRIC_DEFAULT"),
            }
            if "KeyPolicy" in props:
                request["Policy"] = json.dumps(props["KeyPolicy"])
            key_id = kms.create_key(**request)["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=alias, TargetKeyId=key_id)
            if props.get("EnableKeyRotation"):
                kms.enable_key_rotation(KeyId=key_id)
        arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
        return key_id, {"Arn": arn, "KeyId": key_id}


def physical_name(stack_name: str, logical_id: str) -> str:
    """Name of a resource whose template gives none, as this provisioner creates it."""
    return f"{stack_name}-{logical_id}"


def _creation_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids with every resource after the resources it refers to."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order or name not in resources:
            return
        if name in visiting:
            return  # cycles only arise between in-process resources (function <-> permission)
        visiting.add(name)
        resource = resources[name]
        depends = resource.get("DependsOn", [])
        for dependency in sorted(
            dependencies(resource.get("Properties", {})) | set([depends] if isinstance(depends, str) else depends)
        ):
            visit(dependency)
        visiting.discard(name)
        order.append(name)

    for name in sorted(resources):
        visit(name)
    return order
