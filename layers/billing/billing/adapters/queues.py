"""SQS: JSON messages sent to one queue of ``template.yaml``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from billing.adapters import aws
from billing.settings import required


class SqsQueue:
    """A queue whose URL is read when a message is sent (``url``, the variable ``variable``),
    so a function that never sends to it needs no URL: the API builds the plan migrations, but
    only the migration worker queues their pages."""

    def __init__(self, variable: str, url: Callable[[], str | None]):
        self._variable, self._url = variable, url

    def send(self, bodies: Sequence[dict[str, Any]]) -> None:
        """Send every body (ten per request); a message the queue refuses is an error."""
        queue_url = required(self._url(), self._variable)
        for start in range(0, len(bodies), 10):
            entries = [
                {"Id": str(n), "MessageBody": json.dumps(body, separators=(",", ":"))}
                for n, body in enumerate(bodies[start : start + 10])
            ]
            failed = aws.client("sqs").send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
            if failed:
                raise RuntimeError(f"SQS refused {len(failed)} messages: {failed[0].get('Message')}")

    def postpone(self, receipt_handle: str, delay: timedelta) -> None:
        """A received message comes back after ``delay`` (at most SQS's 12 hours) rather than
        after the queue's visibility timeout: its consumer then reports it failed."""
        seconds = max(0, min(int(delay.total_seconds()), 43_200))
        aws.client("sqs").change_message_visibility(
            QueueUrl=required(self._url(), self._variable), ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )
