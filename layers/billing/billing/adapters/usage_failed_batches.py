"""The usage stream mapping's on-failure queue (SQS): Lambda's invocation records of the
batches it gave up on (``billing.usage.failed_batches``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from billing.adapters import aws
from billing.settings import required
from billing.usage.failed_batches import FailedBatch

PEEK_ROUNDS = 10


def batch_of(message: dict[str, Any]) -> FailedBatch:
    body = json.loads(message["Body"])
    info = body["DDBStreamBatchInfo"]
    return FailedBatch(
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


class SqsFailedBatchQueue:
    """The queue in ``url()`` (USAGE_DEAD_LETTER_QUEUE_URL); where none is given (an operator's
    environment without it), no batch waits."""

    def __init__(self, url: Callable[[], str | None]):
        self._url = url

    def waiting(self, hold_s: int) -> list[FailedBatch]:
        queue_url = self._url()
        if not queue_url:
            return []
        seen: dict[str, FailedBatch] = {}
        for _ in range(PEEK_ROUNDS):
            response = aws.client("sqs").receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=hold_s
            )
            messages = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
            if not messages:
                break
            seen |= {message["MessageId"]: batch_of(message) for message in messages}
        return list(seen.values())

    def release(self, batch: FailedBatch) -> None:
        sqs, queue_url = aws.client("sqs"), required(self._url(), "USAGE_DEAD_LETTER_QUEUE_URL")
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=batch.receipt, VisibilityTimeout=0)

    def delete(self, batch: FailedBatch) -> None:
        sqs, queue_url = aws.client("sqs"), required(self._url(), "USAGE_DEAD_LETTER_QUEUE_URL")
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=batch.receipt)
