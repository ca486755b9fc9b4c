"""template.yaml, transformed, provisions on a fresh endpoint; provisioning twice changes nothing."""

from __future__ import annotations

import boto3

from infra import template
from infra.local.stack import EmbeddedStack
from infra.provision import IN_PROCESS, Provisioner


def test_every_resource_of_the_template_is_provisioned(stack: EmbeddedStack) -> None:
    assert stack.stack is not None
    transformed = template.transformed()
    assert set(stack.stack.refs) >= set(transformed["Resources"])

    table = boto3.client("dynamodb").describe_table(TableName=stack.stack.refs["BillingTable"])["Table"]
    assert {index["IndexName"] for index in table["GlobalSecondaryIndexes"]} == {"GSI1", "GSI2", "GSI3", "GSI4"}
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    ttl = boto3.client("dynamodb").describe_time_to_live(TableName=stack.stack.refs["BillingTable"])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"

    assert (
        boto3.client("events").describe_event_bus(Name=stack.stack.refs["EventBus"])["Name"].endswith("domain-events")
    )
    queue_url = stack.stack.refs["StreamPublisherDeadLetterQueue"]
    assert boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]

    created_here = {r["Type"] for r in transformed["Resources"].values()} - IN_PROCESS
    assert created_here  # the template creates real resources, not only code


def test_provisioning_again_reuses_what_exists(stack: EmbeddedStack) -> None:
    assert stack.stack is not None
    again = Provisioner(stack.endpoint_url, stack.config.region, stack.config.stack_name).provision(
        template.transformed()
    )
    assert again.refs["BillingTable"] == stack.stack.refs["BillingTable"]
    assert again.refs["EventBus"] == stack.stack.refs["EventBus"]


def test_versioning_access_logs_and_dead_letters_are_provisioned(stack: EmbeddedStack) -> None:
    assert stack.stack is not None
    refs = stack.stack.refs
    assert boto3.client("s3").get_bucket_versioning(Bucket=refs["DocumentsBucket"])["Status"] == "Enabled"
    groups = boto3.client("logs").describe_log_groups(logGroupNamePrefix=refs["ApiAccessLogGroup"])["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [(refs["ApiAccessLogGroup"], 90)]
    bus = refs["EventBus"]
    (target,) = boto3.client("events").list_targets_by_rule(Rule=refs["PlanMigrationRule"], EventBusName=bus)["Targets"]
    assert target["DeadLetterConfig"]["Arn"] == stack.stack.attributes[("UndeliveredEventsQueue", "Arn")]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
