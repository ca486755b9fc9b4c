"""Headless Chromium pays an invoice by card: it opens the checkout link, pays on the Stripe
stand-in's page and lands on our return page, which says paid.

The API is served over HTTP from this process (the embedded stack's server), because two
parts of issue 11 are not on main yet and are stood in for here: provider accounts (a
test-only ``EnabledProviders`` with the stand-in's credentials) and the webhook intake (a
local endpoint that verifies the stand-in's signed event and calls ``Payments.apply``, as the
intake's processor will). Debian's ``chromium`` (``make`` installs it) driven by
``playwright`` with ``executable_path``; never ``playwright install``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from billing.adapters import services
from billing.payments.providers import PROVIDERS
from infra.local.stack import EmbeddedStack
from tests.integration.test_checkout_pages import WIRED, StandInAccounts

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", "/tmp/billing-e2e"))

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (make does)")


class Intake:
    """The webhook intake's stand-in: verify the signed body, apply it, answer 200."""

    def __init__(self, tenant_key: str, credentials: Any) -> None:
        scope = services.tenants().authenticate(f"Bearer {tenant_key}")

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                event = PROVIDERS["stripe"].verify(credentials, body, dict(self.headers.items()), datetime.now(UTC))
                services.payments().apply(scope, "stripe", event)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/stripe"
        import threading

        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def served(stack: EmbeddedStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, StandInAccounts]]:
    accounts = StandInAccounts()
    monkeypatch.setattr(services, "payment_providers", lambda: accounts)
    for cached in WIRED:
        cached.cache_clear()
    if stack._server is None:
        stack.serve_api()
    yield stack.api_url, accounts
    for cached in WIRED:
        cached.cache_clear()


def test_a_customer_pays_an_invoice_by_card_in_a_browser(
    stack: EmbeddedStack, served: tuple[str, StandInAccounts]
) -> None:
    from playwright.sync_api import sync_playwright

    url, accounts = served
    key = services.tenants().create_tenant("Browser <b>Co</b>")[1].secret
    headers = {"Authorization": f"Bearer {key}"}
    stripe_key = f"sk_test_{uuid.uuid4().hex}"
    credentials = PROVIDERS["stripe"].Credentials(api_key=stripe_key, webhook_secret="whsec_e2e")
    accounts.add(services.tenants().authenticate(f"Bearer {key}"), "stripe", credentials)
    intake = Intake(key, credentials)
    assert stack.standins is not None
    stack.standins.register_webhook("stripe", stripe_key, intake.url, "whsec_e2e")
    customer = requests.post(f"{url}/v1/customers", headers=headers, timeout=10,
                             json={"name": "Jane <script>x()</script>", "currency": "USD"}).json()  # fmt: skip
    top_up = {"customer": customer["id"], "amount": 2500, "currency": "USD", "purpose": "top_up"}
    link = requests.post(f"{url}/v1/checkout_sessions", headers=headers, json=top_up, timeout=10).json()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page()
            page.goto(link["url"])
            assert page.locator("[data-field=amount_due]").inner_text() == "USD 25.00"
            page.screenshot(path=str(ARTIFACTS / "checkout.png"), full_page=True)
            page.click("form[data-method=card] button")
            page.wait_for_selector("form[data-action=pay]")
            page.click("form[data-action=pay] button")
            page.wait_for_url(link["url"] + "/return")
            assert page.locator("[data-state]").get_attribute("data-state") == "paid"
            page.screenshot(path=str(ARTIFACTS / "checkout-return.png"), full_page=True)
            browser.close()
    finally:
        intake.close()
    fetched = requests.get(f"{url}/v1/checkout_sessions/{link['id']}", headers=headers, timeout=10).json()
    assert fetched["status"] == "complete"
    balance = requests.get(f"{url}/v1/customers/{customer['id']}/balance", headers=headers, timeout=10).json()
    assert balance["customer_credit"] == 2500
