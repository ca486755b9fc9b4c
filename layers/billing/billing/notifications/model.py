"""Notifications: what a customer is told, by which channel, and the log of what was sent.

One domain event makes at most one notification per channel (email, SMS). Its id is derived
from (event, channel) with the event's time (``derived_id``), so the log sorts by event time
and a redelivered event finds the notification it already made: that record is the claim
taken before anything is sent (``NotificationLog.claim``), and nothing is sent twice.

Statuses: ``pending`` (claimed, being sent), ``sent`` (the provider took it: SES's or SNS's
message id), ``failed`` (refused for good, or failing and retried while ``retry`` is set),
``skipped`` (nothing to send: no address for the channel, or the customer opted out).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from billing.clock import to_wire
from billing.ids import derived_id

PREFIX = "ntf"
Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")
Locale = Literal["en", "ru"]
LOCALES: tuple[Locale, ...] = ("en", "ru")
DEFAULT_LOCALE: Locale = "en"
DEFAULT_CHANNELS: tuple[Channel, ...] = ("email",)
Status = Literal["pending", "sent", "failed", "skipped"]
KEPT_FOR = timedelta(days=400)  # the log outlives a year of collections, then DynamoDB's TTL removes it
LEASE = timedelta(minutes=2)  # a pending claim older than this was abandoned (its function died)


def notification_id(event_id: str, channel: Channel, occurred_at: datetime) -> str:
    """The one id of an event's notification by ``channel``."""
    return derived_id(PREFIX, int(occurred_at.timestamp() * 1000), f"{event_id}#{channel}")


@dataclass(frozen=True)
class Notification:
    """One entry of a customer's delivery log."""

    id: str
    customer: str
    event_id: str
    event_type: str
    channel: Channel
    created_at: datetime
    status: Status = "pending"
    to: str | None = None
    reason: str | None = None
    message_id: str | None = None
    retry: bool = False  # failed for now: a redelivery of the event may claim it again
    lease_until: datetime | None = None  # while pending

    @property
    def expires_at(self) -> datetime:
        return self.created_at + KEPT_FOR

    def to_public(self) -> dict[str, Any]:
        return {
            "object": "notification",
            "id": self.id,
            "customer": self.customer,
            "event": self.event_id,
            "type": self.event_type,
            "channel": self.channel,
            "to": self.to,
            "status": self.status,
            "reason": self.reason,
            "message_id": self.message_id,
            "created_at": to_wire(self.created_at),
        }


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes = field(repr=False)
    content_type: str = "application/pdf"


@dataclass(frozen=True)
class Email:
    """A rendered email: ``sender`` is an address SES may send from (a verified identity)."""

    sender: str
    sender_name: str
    to: str
    subject: str
    text: str
    html: str
    reply_to: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Sms:
    to: str  # E.164
    text: str
    sender_id: str | None = None


class SendRefused(Exception):
    """The provider refused the message for good (an unverified sender, a bad address): it is
    logged ``failed`` and never retried."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class RateLimited(Exception):
    """The tenant sent its allowance this minute: the event waits (its message comes back)."""

    def __init__(self, retry_after: timedelta):
        super().__init__(f"the tenant's notification limit is reached; retry in {retry_after}")
        self.retry_after = retry_after
