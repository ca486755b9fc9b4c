"""SQS: send JSON messages to a queue."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from billing.adapters import aws


def send(queue_url: str, body: dict[str, Any]) -> None:
    aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(body, separators=(",", ":")))


def send_batch(queue_url: str, bodies: Sequence[dict[str, Any]]) -> None:
    """Send every body (ten per request); a message the queue refuses is an error."""
    for start in range(0, len(bodies), 10):
        entries = [
            {"Id": str(n), "MessageBody": json.dumps(body, separators=(",", ":"))}
            for n, body in enumerate(bodies[start : start + 10])
        ]
        failed = aws.client("sqs").send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
        if failed:
            raise RuntimeError(f"SQS refused {len(failed)} messages: {failed[0].get('Message')}")
