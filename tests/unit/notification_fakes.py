"""In-memory stand-ins of the notifications' ports, and an event of each kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from billing.customers.model import Customer
from billing.notifications.model import Email, Notification, SendRefused, Sms
from billing.notifications.ports import Branding
from billing.pagination import Page, PageRequest
from billing.scope import Scope

SCOPE = Scope("ten_1", False)
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


class MemoryLog:
    """The claim rules of ``DynamoNotificationLog``."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Notification] = {}

    def claim(self, scope: Scope, notification: Notification, now: datetime) -> Notification | None:
        stored = self.rows.get((scope.key, notification.id))
        gives_way = stored is None or (
            (stored.status == "pending" and stored.lease_until is not None and stored.lease_until < now)
            or (stored.status == "failed" and stored.retry)
        )
        if not gives_way:
            return stored
        self.rows[(scope.key, notification.id)] = notification
        return None

    def finish(self, scope: Scope, notification: Notification) -> None:
        self.rows[(scope.key, notification.id)] = notification

    def page(self, scope: Scope, customer_id: str, request: PageRequest) -> Page[Notification]:
        mine = sorted((n for (key, _), n in self.rows.items() if key == scope.key and n.customer == customer_id),
                      key=lambda n: n.id, reverse=True)  # fmt: skip
        if request.starting_after:
            mine = [n for n in mine if n.id < request.starting_after]
        shown = mine[: request.limit]
        return Page.of(shown, shown[-1].id if len(mine) > request.limit else None)


class WindowLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute, self.counts = per_minute, dict[tuple[str, datetime], int]()

    def take(self, tenant_id: str, count: int, now: datetime) -> timedelta | None:
        minute = now.replace(second=0, microsecond=0)
        used = self.counts.get((tenant_id, minute), 0)
        if used + count > self.per_minute:
            return minute + timedelta(minutes=1) - now
        self.counts[(tenant_id, minute)] = used + count
        return None


class Outbox:
    """Mailer and texter at once: what was sent, and what to fail with next."""

    def __init__(self) -> None:
        self.mail: list[Email] = []
        self.sms: list[Sms] = []
        self.fail_next: Exception | None = None

    def _fail(self) -> None:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error

    def send_mail(self, email: Email) -> str:
        self._fail()
        self.mail.append(email)
        return f"ses-{len(self.mail)}"

    def send_sms(self, sms: Sms) -> str:
        self._fail()
        self.sms.append(sms)
        return f"sns-{len(self.sms)}"


class Mailer:
    def __init__(self, outbox: Outbox) -> None:
        self.send = outbox.send_mail


class Texter:
    def __init__(self, outbox: Outbox) -> None:
        self.send = outbox.send_sms


class Documents:
    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}
        self.rendered: list[str] = []

    def invoice_pdf(self, scope: Scope, invoice: Mapping[str, Any]) -> bytes:
        self.rendered.append(str(invoice["id"]))
        return b"%PDF-1.4 invoice " + str(invoice["id"]).encode()

    def get(self, key: str) -> bytes | None:
        return self.stored.get(key)


BRAND = Branding("Acme & Co", "notifications@billing.example.com", ("Main St 1", "Springfield"), "help@acme.test")


def customer(**fields: Any) -> Customer:
    base = Customer(id="cus_1", livemode=False, created_at=NOW, name="Jane", email="jane@example.com",
                    phone="+4915112345678")  # fmt: skip
    return replace(base, **fields)


INVOICE = {"id": "inv_1", "object": "invoice", "number": "INV-2026-000042", "currency": "USD", "total": 123456,
           "amount_due": 123456, "due_date": "2026-03-15T00:00:00Z", "customer": "cus_1"}  # fmt: skip
DATA: dict[str, dict[str, Any]] = {
    "InvoiceFinalized": {"object": INVOICE},
    "PaymentSucceeded": {"object": {"id": "pay_1", "customer": "cus_1", "amount": 5000, "amount_received": 5000,
                                    "currency": "USD", "status": "succeeded", "paid_at": "2026-03-02T10:00:00Z",
                                    "created_at": "2026-03-02T10:00:00Z"}},
    "PaymentFailed": {"object": {"id": "pay_2", "customer": "cus_1", "amount": 5000, "amount_received": 0,
                                 "currency": "USD", "status": "failed", "failure_message": "Your card was declined.",
                                 "created_at": "2026-03-02T10:00:00Z"}},
    "TariffChangeScheduled": {"object": {"id": "sub_1", "customer": "cus_1", "plan_code": "pro",
                                         "pending_change": {"type": "tariff_change", "plan": "plan_2",
                                                            "effective_at": "2026-04-01T00:00:00Z"}}},
    "InvoiceReminder": {"object": INVOICE, "customer": "cus_1", "days_after_due": -3},
    "LateFeeCharged": {"object": {"id": "ii_1", "amount": 50000, "currency": "RUB", "description": "Late fee"},
                       "customer": "cus_1", "invoice": "inv_1"},
    "InvoiceFinalNotice": {"object": INVOICE, "customer": "cus_1",
                           "debt": {"currency": "USD", "principal": 123456, "late_fees": 5000,
                                    "penalty_interest": 1234, "total": 129690},
                           "document": "ten_1#test/notices/inv_1.pdf", "checkout_url": "https://pay.test/c/1"},
    "CustomerSuspended": {"object": {"object": "customer_access", "customer": "cus_1", "allowed": False,
                                     "reason": "suspended_for_debt", "since": "2026-03-20T00:00:00Z"}},
    "CustomerReinstated": {"object": {"object": "customer_access", "customer": "cus_1", "allowed": True,
                                      "reason": None, "since": "2026-03-25T00:00:00Z"}},
    "CustomerBalanceLow": {"customer": "cus_1", "currency": "RUB", "balance": 9950, "threshold": 50000},
}  # fmt: skip


def envelope(kind: str, event_id: str = "evt_1", data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": event_id, "type": kind, "tenant_id": SCOPE.tenant_id, "livemode": SCOPE.livemode,
            "occurred_at": "2026-03-01T09:00:00Z", "data": DATA[kind] if data is None else data}  # fmt: skip


class FailOnce(Exception):
    """A transient provider error (throttling)."""


REFUSED = SendRefused("MessageRejected: Email address is not verified.")
