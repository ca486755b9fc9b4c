"""Usage the aggregator's stream mapping gave up on: its on-failure queue, read and replayed.

After its last retry, Lambda skips a batch and sends the queue an invocation record that
names the shard and the sequence numbers, not the data. Replaying one reads those records
back from the stream (it keeps them 24 hours) and applies them as the function would, so
chunk markers skip what was applied already; the message is deleted once every record is
settled (applied, skipped or parked).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from billing.adapters import aws
from billing.adapters.dynamodb import usage_stream
from billing.errors import NotFound
from billing.usage.aggregator import Progress, UsageAggregator

PEEK_ROUNDS = 10


@dataclass(frozen=True)
class FailedBatch:
    message_id: str
    receipt: str
    stream_arn: str
    shard_id: str
    first: str
    last: str
    size: int
    condition: str
    failed_at: str

    @classmethod
    def of(cls, message: dict[str, Any]) -> FailedBatch:
        body = json.loads(message["Body"])
        info = body["DDBStreamBatchInfo"]
        return cls(
            message_id=message["MessageId"],
            receipt=message["ReceiptHandle"],
            stream_arn=info["streamArn"],
            shard_id=info["shardId"],
            first=info["startSequenceNumber"],
            last=info["endSequenceNumber"],
            size=int(info["batchSize"]),
            condition=body.get("requestContext", {}).get("condition", ""),
            failed_at=body.get("timestamp", ""),
        )


def _sqs() -> Any:
    return aws.client("sqs")


def failed_batches(queue_url: str, hold_s: int = 0) -> list[FailedBatch]:
    """The batches waiting in the queue; ``hold_s`` hides them from other readers that long
    (0: only a look, they stay visible)."""
    seen: dict[str, FailedBatch] = {}
    for _ in range(PEEK_ROUNDS):
        response = _sqs().receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=hold_s)
        messages = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
        if not messages:
            break
        seen |= {message["MessageId"]: FailedBatch.of(message) for message in messages}
    return list(seen.values())


def release(queue_url: str, batch: FailedBatch) -> None:
    """Make a batch held by ``failed_batches`` visible again at once."""
    _sqs().change_message_visibility(QueueUrl=queue_url, ReceiptHandle=batch.receipt, VisibilityTimeout=0)


def replay(queue_url: str, batch: FailedBatch, aggregator: UsageAggregator) -> Progress:
    """Apply the batch's records again; the message goes once all are settled."""
    raw = usage_stream.read_range(batch.stream_arn, batch.shard_id, batch.first, batch.last)
    if not raw:
        raise NotFound("The stream no longer holds these records (it keeps them 24 hours).", param="id")
    records = usage_stream.records(raw)
    progress = aggregator.apply(batch.stream_arn, records)
    if progress.settled == len(records) and progress.error is None:
        _sqs().delete_message(QueueUrl=queue_url, ReceiptHandle=batch.receipt)
    return progress
