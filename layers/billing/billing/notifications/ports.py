"""What notifications need of storage, the providers and the tenant (adapters in
``billing.adapters``: ``dynamodb/notifications.py``, ``messaging.py``; fakes in the unit tests)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from billing.notifications.model import Email, Notification, Sms
from billing.pagination import Page, PageRequest
from billing.scope import Scope


class NotificationLog(Protocol):
    def claim(self, scope: Scope, notification: Notification, now: datetime) -> Notification | None:
        """Write ``notification`` unless its id holds one that stands: None when written, else
        the stored one. A stored one gives way only when it is ``pending`` past its lease (its
        sender died) or ``failed`` with ``retry`` set."""

    def finish(self, scope: Scope, notification: Notification) -> None:
        """Write how it ended: ``status``, ``reason``, ``message_id``, ``retry``."""

    def page(self, scope: Scope, customer_id: str, request: PageRequest) -> Page[Notification]:
        """A customer's log, newest event first."""


class RateLimiter(Protocol):
    def take(self, tenant_id: str, count: int, now: datetime) -> timedelta | None:
        """Take ``count`` sends of the tenant's allowance: None when taken, else how long until
        the allowance comes back (nothing taken)."""


class Mailer(Protocol):
    def send(self, email: Email) -> str:
        """Send it; the provider's message id. ``SendRefused`` when refused for good."""


class Texter(Protocol):
    def send(self, sms: Sms) -> str:
        """Send it; the provider's message id. ``SendRefused`` when refused for good."""


class Documents(Protocol):
    def invoice_pdf(self, scope: Scope, invoice: Mapping[str, Any]) -> bytes:
        """The invoice's PDF (its public JSON, as the event carries it), as the API serves it."""

    def get(self, key: str) -> bytes | None:
        """A stored document (the documents bucket), None when there is none."""


@dataclass(frozen=True)
class Branding:
    """How the tenant presents itself in mail and SMS (``TenantSettings``): ``sender`` is the
    address mail comes from (the platform's, shown with the business name)."""

    business: str
    sender: str
    address: tuple[str, ...] = ()
    support_email: str | None = None
    sms_sender_id: str | None = None

    def values(self) -> dict[str, str]:
        return {
            "business": self.business,
            "address": ", ".join(self.address),
            "support_email": self.support_email or "",
        }
