"""The local stack hands stream records to functions as Lambda does: the stream's JSON."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import boto3

from infra.local.plumbing import StreamPoller
from infra.local.stack import EmbeddedStack
from infra.provision import Provisioner


def test_stream_records_reach_functions_as_lambda_sends_them(stack: EmbeddedStack) -> None:
    """Times in epoch seconds and binary values in base64, as in Lambda's event (botocore's parse
    would give datetimes and bytes), in a batch as the mapping sizes it."""
    assert stack.stack is not None
    ddb = boto3.client("dynamodb", endpoint_url=stack.endpoint_url, region_name=stack.config.region)
    name = f"delivery-{uuid.uuid4().hex[:8]}"
    created = ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    for n in range(3):
        ddb.put_item(TableName=name, Item={"PK": {"S": f"k{n}"}, "blob": {"B": b"\x00\xff"}, "n": {"N": "1.5"}})
    delivered: list[list[dict[str, Any]]] = []

    def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
        delivered.append(event["Records"])
        return {"batchItemFailures": []}

    provisioner = Provisioner(stack.endpoint_url, stack.config.region, stack.config.stack_name)
    arn = created["TableDescription"]["LatestStreamArn"]
    poller = StreamPoller("Fn", handler, {"BatchSize": 2}, stack.stack, provisioner, stream_arn=arn)
    assert poller.poll_once() == 3
    assert [len(batch) for batch in delivered] == [2, 1]
    record = delivered[0][0]
    assert record["eventSourceARN"] == arn and record["eventName"] == "INSERT"
    image = record["dynamodb"]["NewImage"]
    assert image == {"PK": {"S": "k0"}, "blob": {"B": base64.b64encode(b"\x00\xff").decode()}, "n": {"N": "1.5"}}
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int | float)
