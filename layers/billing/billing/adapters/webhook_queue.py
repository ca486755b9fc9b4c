"""The webhook delivery queue (``WebhookDeliveryQueue`` in template.yaml): one message per
delivery (an event for an endpoint), ``{"tenant_id", "livemode", "endpoint_id", "delivery_id"}``;
the event's body is in the stored delivery, not in the message.

A failed attempt comes back after the backoff of ``billing.webhooks_out.retries``: the delivery
function sets the message's visibility timeout to it (``postpone``) and reports it failed, so
SQS counts its receives (the attempt number) and, past ``maxReceiveCount``, moves it to the
dead-letter queue.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import timedelta

from billing.adapters.queues import SqsQueue
from billing.settings import get_settings
from billing.webhooks_out.model import DeliveryRef

VARIABLE = "WEBHOOK_DELIVERY_QUEUE_URL"


def _url() -> str | None:
    return get_settings().webhook_delivery_queue_url


def parse(body: str) -> DeliveryRef:
    """The delivery a message names (a message of another shape fails: it ends in the DLQ)."""
    data = json.loads(body)
    return DeliveryRef(str(data["tenant_id"]), bool(data["livemode"]), str(data["endpoint_id"]),
                       str(data["delivery_id"]))  # fmt: skip


class SqsDeliveryQueue:
    def __init__(self, url: Callable[[], str | None] = _url):
        self._url = url
        self._queue = SqsQueue(VARIABLE, url)

    def send(self, refs: Sequence[DeliveryRef]) -> None:
        if refs:
            self._queue.send([asdict(ref) for ref in refs])

    def postpone(self, receipt_handle: str, delay: timedelta) -> None:
        """The message comes back after ``delay`` (at most SQS's 12 hours)."""
        self._queue.postpone(receipt_handle, delay)
