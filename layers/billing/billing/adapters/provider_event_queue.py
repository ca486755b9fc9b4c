"""The provider event queue (``ProviderEventQueue`` in template.yaml): SQS FIFO, one message per
verified event (``billing.payments.webhooks`` says why FIFO).

- ``MessageDeduplicationId``: a digest of the event's key (scope, provider, event id), so the
  same event queued again within five minutes is dropped by SQS (deduplication is per message
  group, which holds every copy of an event: the queue's high-throughput mode).
- ``MessageGroupId``: a digest of the event's subject (``provider_events.subject``), so the
  events of one checkout are processed one at a time, in the order they came.
- Body: ``{"tenant_id", "livemode", "provider", "event_id"}``: the processor reads the stored
  event, so a message holds no payment data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from billing.adapters import aws
from billing.payments.provider_events import EventRef
from billing.scope import Scope
from billing.settings import get_settings, required


def _url() -> str | None:
    return get_settings().provider_event_queue_url


def message(ref: EventRef) -> dict[str, Any]:
    return {
        "tenant_id": ref.scope.tenant_id,
        "livemode": ref.scope.livemode,
        "provider": ref.provider,
        "event_id": ref.event_id,
    }


def parse(body: str) -> EventRef:
    """The event a message names (a message of another shape is an error: it goes to the DLQ)."""
    data = json.loads(body)
    return EventRef(Scope(str(data["tenant_id"]), bool(data["livemode"])), str(data["provider"]), str(data["event_id"]))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class SqsProviderEventQueue:
    def __init__(self, url: Callable[[], str | None] = _url):
        self._url = url

    def send(self, ref: EventRef, subject: str) -> None:
        aws.client("sqs").send_message(
            QueueUrl=required(self._url(), "PROVIDER_EVENT_QUEUE_URL"),
            MessageBody=json.dumps(message(ref), separators=(",", ":")),
            MessageGroupId=_digest(ref.scope.key, ref.provider, subject),
            MessageDeduplicationId=_digest(ref.scope.key, ref.provider, ref.event_id),
        )
