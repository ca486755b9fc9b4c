"""Telling customers what happened: one domain event in, at most one message per channel out.

``Notifier.notify`` takes an event's envelope (as the bus routes it to ``NotificationQueue``):

1. The event's kind (``kinds.KINDS``) says its template, whether the law requires it, and what
   it attaches; other events are not the customer's business.
2. The customer's preferences choose the channels: ``notification_channels`` (default email),
   none at all when it opted out, except for a legally required notice (the final notice, a
   suspension), which then goes by email, or by SMS to a customer without an email address.
   A channel without an address is logged ``skipped``.
3. Each notification is claimed in the log before it is sent (one id per event and channel), so
   a redelivered event sends nothing twice; the tenant's allowance (``RateLimiter``) is taken
   for what was claimed, and when it is spent the claims are released and the event waits.
4. Each is rendered in the customer's locale with the tenant's branding, sent, and logged
   ``sent`` (with the provider's message id) or ``failed``: refused for good, or failing for now
   (``retry``: the error is raised, so the event comes back and claims it again).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from billing.clock import Clock, SystemClock
from billing.customers.model import Customer
from billing.errors import NotFound
from billing.notifications import templates
from billing.notifications.kinds import KINDS, Kind, Links
from billing.notifications.model import (
    CHANNELS,
    LEASE,
    Attachment,
    Channel,
    Email,
    Notification,
    RateLimited,
    SendRefused,
    Sms,
    Status,
    notification_id,
)
from billing.notifications.ports import Branding, Documents, Mailer, NotificationLog, RateLimiter, Texter
from billing.pagination import Page, PageRequest
from billing.scope import Scope

CustomerOf = Callable[[Scope, str], Customer | None]


def channels_for(kind: Kind, customer: Customer) -> tuple[Channel, ...]:
    """The channels an event of ``kind`` goes by to ``customer`` (empty: it opted out)."""
    if customer.notification_channels:
        return customer.notification_channels
    if kind.legal:
        return ("email",) if customer.email or not customer.phone else ("sms",)
    return ()


class Notifier:
    def __init__(
        self,
        log: NotificationLog,
        limiter: RateLimiter,
        mailer: Mailer,
        texter: Texter,
        customer_of: CustomerOf,
        branding: Callable[[Scope], Branding],
        documents: Documents,
        links: Links | None = None,
        clock: Clock | None = None,
    ):
        self._log, self._limiter, self._mailer, self._texter = log, limiter, mailer, texter
        self._customer_of, self._branding, self._documents = customer_of, branding, documents
        self._links = links or Links()
        self._clock = clock or SystemClock()

    def notify(self, envelope: Mapping[str, Any]) -> list[Notification]:
        """The notifications this delivery of the event wrote (none when an earlier one did)."""
        kind = KINDS.get(str(envelope["type"]))
        if kind is None:
            return []
        scope = Scope(str(envelope["tenant_id"]), bool(envelope["livemode"]))
        data: Mapping[str, Any] = envelope["data"]
        customer = self._customer_of(scope, kind.customer(data))
        if customer is None:
            return []
        now = self._clock.now()
        claimed = [n for n in self._planned(envelope, kind, customer, now) if self._log.claim(scope, n, now) is None]
        pending = [n for n in claimed if n.status == "pending"]
        if pending and (wait := self._limiter.take(scope.tenant_id, len(pending), now)) is not None:
            for notification in pending:  # given back: the event's next delivery claims them again
                self._log.finish(scope, _ended(notification, "failed", reason="rate_limited", retry=True))
            raise RateLimited(wait)
        done, error = [n for n in claimed if n.status != "pending"], None
        for notification in pending:
            ended, failure = self._deliver(scope, kind, data, customer, notification)
            self._log.finish(scope, ended)
            done.append(ended)
            error = error or failure
        if error is not None:
            raise error
        return sorted(done, key=lambda n: CHANNELS.index(n.channel))

    def _deliver(
        self, scope: Scope, kind: Kind, data: Mapping[str, Any], customer: Customer, notification: Notification
    ) -> tuple[Notification, Exception | None]:
        """Send one claimed notification: how it ended, and the error to raise for a retry."""
        try:
            return _ended(notification, "sent", message_id=self._send(scope, kind, data, customer, notification)), None
        except SendRefused as refused:
            return _ended(notification, "failed", reason=refused.reason), None
        except Exception as exc:  # throttled, unreachable: the event comes back for this one
            return _ended(notification, "failed", reason=f"error: {type(exc).__name__}", retry=True), exc

    def _planned(
        self, envelope: Mapping[str, Any], kind: Kind, customer: Customer, now: datetime
    ) -> list[Notification]:
        occurred = datetime.fromisoformat(str(envelope["occurred_at"]).replace("Z", "+00:00"))
        event_id, event_type = str(envelope["id"]), str(envelope["type"])

        def entry(channel: Channel, **fields: Any) -> Notification:
            return Notification(notification_id(event_id, channel, occurred), customer.id, event_id, event_type,
                                channel, now, **fields)  # fmt: skip

        channels = channels_for(kind, customer)
        if not channels:
            return [entry("email", status="skipped", reason="opted_out")]
        planned = []
        for channel in channels:
            to = customer.email if channel == "email" else customer.phone
            if to is None:
                planned.append(
                    entry(channel, status="skipped", reason=f"no_{'email' if channel == 'email' else 'phone'}")
                )
            else:
                planned.append(entry(channel, to=to, lease_until=now + LEASE))
        return planned

    def _send(self, scope: Scope, kind: Kind, data: Mapping[str, Any], customer: Customer, n: Notification) -> str:
        brand = self._branding(scope)
        values = {**kind.values(data, customer.locale, self._links), **brand.values(), "name": customer.name or ""}
        rendered = templates.render(kind.template, customer.locale, values)
        assert n.to is not None
        if n.channel == "sms":
            return self._texter.send(Sms(n.to, rendered.sms, brand.sms_sender_id))
        email = Email(brand.sender, brand.business, n.to, rendered.subject, rendered.text, rendered.html,
                      brand.support_email, self._attachments(scope, kind, data, values))  # fmt: skip
        return self._mailer.send(email)

    def _attachments(
        self, scope: Scope, kind: Kind, data: Mapping[str, Any], values: Mapping[str, str]
    ) -> tuple[Attachment, ...]:
        if kind.attach == "invoice":
            invoice = data["object"]
            return (Attachment(f"invoice-{values['number']}.pdf", self._documents.invoice_pdf(scope, invoice)),)
        key = kind.document(data) if kind.attach == "document" else None
        if key is None:
            return ()
        if not key.startswith(f"{scope.key}/"):  # a document of another tenant or mode is never sent
            raise SendRefused("document_not_found")
        content = self._documents.get(key)
        if content is None:
            raise LookupError(f"document {key} is not stored (yet)")
        return (Attachment(key.rsplit("/", 1)[-1], content),)


def _ended(notification: Notification, status: Status, **fields: Any) -> Notification:
    return replace(notification, status=status, lease_until=None, **fields)


class Notifications:
    """The delivery log as the API reads it (``GET /v1/customers/{id}/notifications``)."""

    def __init__(self, log: NotificationLog, customer_of: CustomerOf):
        self._log, self._customer_of = log, customer_of

    def of_customer(self, scope: Scope, customer_id: str, request: PageRequest) -> Page[Notification]:
        if self._customer_of(scope, customer_id) is None:
            raise NotFound(f"No such customer: '{customer_id}'", param="id")
        return self._log.page(scope, customer_id, request)
