"""The usage table's stream, as the aggregator reads it.

Only ``INSERT`` records count: each is an event created by ingestion (which never
overwrites one). A record whose image does not decode still becomes a ``Record``, with an
``Unreadable`` event naming the key, so the aggregator parks it rather than stop the shard.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from billing.adapters import aws
from billing.adapters.dynamodb import table
from billing.adapters.dynamodb.usage_events import from_item, key_parts
from billing.usage.aggregator import Record, Unreadable


def records(stream_records: Iterable[dict[str, Any]]) -> list[Record]:
    found = []
    for record in stream_records:
        if record.get("eventName") != "INSERT":
            continue
        change = record["dynamodb"]
        try:
            found.append(Record(change["SequenceNumber"], *from_item(table.decode(change["NewImage"]))))
        except Exception as bad:  # any decoding failure: the record is parked with it
            scope, transaction_id = key_parts(table.decode(change.get("Keys", {})))
            problem = f"unreadable event: {type(bad).__name__}: {bad}"
            found.append(Record(change["SequenceNumber"], scope, Unreadable(transaction_id, problem)))
    return found


def _streams() -> Any:
    return aws.client("dynamodbstreams")


def read_range(stream_arn: str, shard_id: str, first: str, last: str) -> list[dict[str, Any]]:
    """The stream records of one shard from sequence number ``first`` to ``last`` (as Lambda
    delivers them), while the stream keeps them (24 hours)."""
    iterator = _streams().get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=first
    )["ShardIterator"]
    found: list[dict[str, Any]] = []
    empty = 0
    while iterator and empty < EMPTY_PAGES:
        response = _streams().get_records(ShardIterator=iterator, Limit=1000)
        page = response.get("Records", [])
        for record in page:
            if int(record["dynamodb"]["SequenceNumber"]) > int(last):
                return found
            found.append({**record, "eventSourceARN": stream_arn})
        empty = 0 if page else empty + 1
        iterator = response.get("NextShardIterator")
    return found


EMPTY_PAGES = 5  # a stream may answer a few empty pages before the records it holds


class DynamoUsageStream:
    """The stream read back for a batch Lambda gave up on (``billing.usage.failed_batches``)."""

    def read(self, stream_arn: str, shard_id: str, first: str, last: str) -> list[Record] | None:
        raw = read_range(stream_arn, shard_id, first, last)
        return records(raw) if raw else None
