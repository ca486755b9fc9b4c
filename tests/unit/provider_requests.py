"""A checkout request the provider tests share."""

from __future__ import annotations

from datetime import UTC, datetime

from billing.payments.providers import CheckoutRequest

REQUEST = CheckoutRequest(
    checkout_session="chk_1",
    invoice="inv_1",
    amount=1250,
    currency="USD",
    description="Invoice 1",
    customer_email="jane@example.com",
    success_url="https://billing.example/pay/tok/return",
    cancel_url="https://billing.example/pay/tok",
    expires_at=datetime(2026, 3, 1, 13, 0, tzinfo=UTC),
    save_card=True,
)
