"""A customer's events are listed from the lists the aggregator writes per stream chunk: pages
read across chunks whose hours overlap, start inside a list, and show an event listed twice
(by a chunk retried shorter) once."""

from __future__ import annotations

from typing import Any

import boto3

from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api
from tests.integration.test_usage_api import ago, customer_on_plan, event, usage_tariff


def pages(api: Api, key: str, path: str) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = api.get(path + (f"&starting_after={cursor}" if cursor else ""), key)
        assert page.status == 200, page.body
        seen += [e["transaction_id"] for e in page.body["data"]]
        if not page.body["has_more"]:
            return seen
        cursor = page.body["next_starting_after"]


def test_pages_cross_chunks_and_keep_each_event_once(stack: EmbeddedStack, api: Api, key: str) -> None:
    usage_tariff(api, key)
    cus = customer_on_plan(api, key, ago(days=2))["customer"]
    sent = [event(f"x-{i:02d}", cus, "api_calls" if i % 2 else "users", user=str(i), timestamp=ago(minutes=90 - 2 * i))
            for i in range(36)]  # fmt: skip
    for part in range(3):  # three chunks, each holding every third event: their lists interleave
        assert api.post("/v1/events/batch", key, {"events": sent[part::3]}).body["accepted"] == 12
        stack.plumbing.drain()

    poller = next(p for p in stack.plumbing.pollers if "Usage" in p.name)
    streams = boto3.client("dynamodbstreams", endpoint_url=stack.endpoint_url, region_name="us-east-1")
    shard = streams.describe_stream(StreamArn=poller.stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=poller.stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
    mine: list[dict[str, Any]] = [
        {**r, "eventSourceARN": poller.stream_arn}
        for r in records
        if r["dynamodb"]["NewImage"].get("customer", {}).get("S") == cus  # other tests store poison records
    ]
    assert poller.invoke(mine[:5]) == []  # the first chunk again, cut shorter: its events listed twice

    newest_first = [f"x-{i:02d}" for i in reversed(range(36))]
    for limit in (1, 4, 7, 100):
        assert pages(api, key, f"/v1/events?customer={cus}&limit={limit}") == newest_first
    assert pages(api, key, f"/v1/events?customer={cus}&code=users&limit=5") == newest_first[1::2]
    window = f"&from={sent[10]['timestamp']}&to={sent[30]['timestamp']}"
    assert pages(api, key, f"/v1/events?customer={cus}&limit=3{window}") == [f"x-{i:02d}" for i in range(29, 9, -1)]
