"""The notification log's claims and the per-tenant allowance against the embedded DynamoDB:
the conditions that make a send happen once and keep a tenant within its minute."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from billing.adapters.dynamodb.notifications import DynamoNotificationLog, DynamoRateLimiter
from billing.notifications.model import LEASE, Notification, notification_id
from billing.pagination import PageRequest
from billing.scope import Scope
from infra.local.stack import EmbeddedStack

NOW = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)


def pending(event_id: str, customer: str) -> Notification:
    return Notification(notification_id(event_id, "email", NOW), customer, event_id, "PaymentSucceeded", "email", NOW,
                        to="a@example.com", lease_until=NOW + LEASE)  # fmt: skip


def test_a_notification_is_claimed_once_unless_its_claim_lapsed_or_may_be_retried(stack: EmbeddedStack) -> None:
    log, scope, customer = DynamoNotificationLog(), Scope(f"ten_{uuid.uuid4().hex[:8]}", False), "cus_1"
    claim = pending("evt_1", customer)
    assert log.claim(scope, claim, NOW) is None
    assert log.claim(scope, claim, NOW + timedelta(seconds=5)) == claim  # taken: the stored one answers
    assert log.claim(scope, claim, NOW + LEASE + timedelta(seconds=1)) is None  # its sender died
    log.finish(scope, replace(claim, status="failed", reason="error: Throttling", retry=True, lease_until=None))
    assert log.claim(scope, claim, NOW) is None  # a failure to retry gives way at once
    sent = replace(claim, status="sent", message_id="ses-1", lease_until=None)
    log.finish(scope, sent)
    assert log.claim(scope, claim, NOW + timedelta(days=1)) == sent  # sent: never again
    skipped = replace(pending("evt_2", customer), status="skipped", reason="opted_out", to=None, lease_until=None)
    assert log.claim(scope, skipped, NOW) is None and log.claim(scope, skipped, NOW) == skipped
    page = log.page(scope, customer, PageRequest(limit=1))
    assert page.has_more and page.data[0].event_id == max(
        ("evt_1", "evt_2"), key=lambda e: notification_id(e, "email", NOW)
    )
    rest = log.page(scope, customer, PageRequest(limit=1, starting_after=page.next_starting_after))
    assert len(rest.data) == 1 and not rest.has_more and {page.data[0].id, rest.data[0].id} == {sent.id, skipped.id}


def test_the_allowance_counts_a_tenants_sends_per_minute(stack: EmbeddedStack) -> None:
    limiter, tenant = DynamoRateLimiter(per_minute=3), f"ten_{uuid.uuid4().hex[:8]}"
    assert limiter.take(tenant, 2, NOW) is None
    assert limiter.take(tenant, 2, NOW) == timedelta(seconds=45)  # 2 + 2 > 3: nothing taken
    assert limiter.take(tenant, 1, NOW) is None
    assert limiter.take(tenant, 1, NOW) is not None
    assert limiter.take(f"{tenant}x", 3, NOW) is None  # another tenant's minute
    assert limiter.take(tenant, 3, NOW + timedelta(minutes=1)) is None  # the next minute
