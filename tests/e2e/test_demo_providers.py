"""``make run``'s demo tenant has an account with every provider, each sending its webhooks to the
running API (through its stand-in), none showing a credential."""

from __future__ import annotations

import requests

from billing.payments.providers import PROVIDERS
from tests.conftest import Running


def test_the_demo_tenant_takes_payments_through_every_provider(running: Running) -> None:
    answer = requests.get(
        f"{running.url}/v1/payment_providers", headers={"Authorization": f"Bearer {running.demo_key}"}, timeout=10
    )
    assert answer.status_code == 200
    accounts = answer.json()["data"]
    assert sorted(a["provider"] for a in accounts) == sorted(PROVIDERS)
    for account in accounts:
        assert account["enabled"] and not account["livemode"]
        assert account["webhook_url"].startswith(f"{running.url}/webhooks/{account['provider']}/we_")
        assert all(shown is None or len(shown) == 4 for shown in account["last4"].values())
