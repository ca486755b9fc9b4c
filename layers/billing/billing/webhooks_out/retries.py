"""When a failed delivery is tried again: Stripe-like exponential backoff over about 30 hours.

The queue's redrive policy (``maxReceiveCount`` = ``MAX_ATTEMPTS``, template.yaml) and this
schedule agree: attempt ``n`` (SQS's receive count) that fails is tried again after
``SCHEDULE[n - 1]`` (the message's visibility timeout is set to it; SQS allows up to 12 hours);
after the last, the message goes to the dead-letter queue, where an operator can redrive it.
No jitter is added: deliveries of one event to several endpoints are apart messages already,
and an endpoint that was down gets its backlog spread by when each event first failed.
"""

from __future__ import annotations

from datetime import timedelta

SCHEDULE: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=12),  # SQS's longest visibility timeout
)
MAX_ATTEMPTS = len(SCHEDULE) + 1


def next_delay(attempt: int) -> timedelta | None:
    """How long after failed attempt ``attempt`` (1 for the first) the next one comes; None
    when that was the last."""
    if attempt < 1:
        raise ValueError("attempts count from 1")
    return SCHEDULE[attempt - 1] if attempt < MAX_ATTEMPTS else None
