"""The embedded endpoint's transactions: all or nothing, and a cancelled one leaves no trace
(no item, no change, no stream record), as on DynamoDB."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from billing.adapters.dynamodb import table
from infra.local.stack import EmbeddedStack


def _stream_records(stack: EmbeddedStack, prefix: str) -> list[dict]:
    """The table's stream records of items whose key starts with ``prefix``."""
    streams = boto3.client("dynamodbstreams", endpoint_url=stack.endpoint_url, region_name="us-east-1")
    arn = table.client().describe_table(TableName=table.table_name())["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        kind = {"ShardIteratorType": "TRIM_HORIZON"}
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], **kind)["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += [r for r in page["Records"] if r["dynamodb"]["Keys"]["PK"]["S"].startswith(prefix)]
            iterator = page.get("NextShardIterator") if page["Records"] else None
    return records


def test_a_cancelled_transaction_changes_nothing_and_streams_nothing(stack: EmbeddedStack) -> None:
    ddb, name, run = table.client(), table.table_name(), uuid.uuid4().hex
    existing = {"PK": f"emu#{run}#a", "SK": "x", "n": 1}
    table.transact([table.put(existing)], {})
    before = len(_stream_records(stack, f"emu#{run}"))
    operations = [
        table.put({"PK": f"emu#{run}#new", "SK": "x"}),  # would be created
        {"Update": {"TableName": name, "Key": table.encode({"PK": f"emu#{run}#a", "SK": "x"}),
                    "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": table.encode({":one": 1})}},
        table.put({"PK": f"emu#{run}#a2", "SK": "x"}, "attribute_exists(PK)"),  # fails: cancels all
    ]  # fmt: skip
    with pytest.raises(ClientError) as raised:
        ddb.transact_write_items(TransactItems=operations)
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert table.get({"PK": f"emu#{run}#new", "SK": "x"}) is None
    assert table.get({"PK": f"emu#{run}#a", "SK": "x"})["n"] == 1
    assert len(_stream_records(stack, f"emu#{run}")) == before

    table.transact(operations[:2], {})
    assert table.get({"PK": f"emu#{run}#a", "SK": "x"})["n"] == 2
    assert len(_stream_records(stack, f"emu#{run}")) == before + 2
