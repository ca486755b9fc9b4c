"""Headless Chromium pays an invoice by card: it opens the checkout link, pays on the Stripe
stand-in's page and lands on our return page, which waits for the provider's report (and
refreshes itself); once the stand-in's webhook has gone through the intake, the queue and
the processor, the page says paid.

The API is served over HTTP from this process (the embedded stack's server); the tenant's
Stripe account is configured through the API and its ``webhook_url`` registered with the
stand-in. Debian's ``chromium`` (``make`` installs it) driven by ``playwright`` with
``executable_path``; never ``playwright install``."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import requests

from billing.adapters import services
from infra.local.stack import EmbeddedStack

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", "/tmp/billing-e2e"))

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (make does)")


@pytest.fixture
def served(stack: EmbeddedStack) -> str:
    if stack._server is None:
        stack.serve_api()
    return stack.api_url


def test_a_customer_pays_an_invoice_by_card_in_a_browser(stack: EmbeddedStack, served: str) -> None:
    from playwright.sync_api import sync_playwright

    url = served
    key = services.tenants().create_tenant("Browser <b>Co</b>")[1].secret
    headers = {"Authorization": f"Bearer {key}"}
    stripe = {"api_key": f"sk_test_{uuid.uuid4().hex}", "webhook_secret": "whsec_e2e_0001"}
    account = requests.put(f"{url}/v1/payment_providers/stripe", headers=headers, json=stripe, timeout=10).json()
    assert stack.standins is not None and stack.plumbing is not None
    stack.standins.register_webhook("stripe", stripe["api_key"], account["webhook_url"], stripe["webhook_secret"])
    customer = requests.post(f"{url}/v1/customers", headers=headers, timeout=10,
                             json={"name": "Jane <script>x()</script>", "currency": "USD"}).json()  # fmt: skip
    top_up = {"customer": customer["id"], "amount": 2500, "currency": "USD", "purpose": "top_up"}
    link = requests.post(f"{url}/v1/checkout_sessions", headers=headers, json=top_up, timeout=10).json()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
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
        assert page.locator("[data-state]").get_attribute("data-state") == "processing"
        stack.plumbing.drain()  # the webhook the stand-in sent: queued, now processed
        page.wait_for_selector("[data-state=paid]", timeout=30_000)  # the page refreshed itself
        page.screenshot(path=str(ARTIFACTS / "checkout-return.png"), full_page=True)
        browser.close()
    fetched = requests.get(f"{url}/v1/checkout_sessions/{link['id']}", headers=headers, timeout=10).json()
    assert fetched["status"] == "complete"
    balance = requests.get(f"{url}/v1/customers/{customer['id']}/balance", headers=headers, timeout=10).json()
    assert balance["customer_credit"] == 2500
