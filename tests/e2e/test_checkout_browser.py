"""Headless Chromium pays invoices: it opens the checkout link, pays on a provider stand-in's
page and lands on our return page, which waits for the provider's report (and refreshes
itself); once the stand-in's webhook has gone through the intake, the queue and the
processor, the page says paid. By card (Stripe's stand-in), and by crypto (Whitepay's): first
less than due, which leaves the invoice open for the rest, then the rest.

The API is served over HTTP from this process (the embedded stack's server); the tenant's
provider account is configured through the API and its ``webhook_url`` registered with the
stand-in. Debian's ``chromium`` (``make`` installs it) driven by ``playwright`` with
``executable_path``; never ``playwright install``."""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests

from billing.adapters import services
from infra.local.stack import EmbeddedStack
from tests.e2e.browser import ARTIFACTS, CHROMIUM, FLAGS, needs_chromium, shown
from tests.integration.conftest import Reply
from tests.integration.test_payments_api import balanced_ledger, customer_with_two_invoices, invoice

pytestmark = needs_chromium


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
        shown(page, "form[data-action=pay]")
        page.click("form[data-action=pay] button")
        page.wait_for_url(link["url"] + "/return")
        assert page.locator("[data-state]").get_attribute("data-state") == "processing"
        stack.plumbing.drain()  # the webhook the stand-in sent: queued, now processed
        shown(page, "[data-state=paid]")  # the page refreshed itself
        page.screenshot(path=str(ARTIFACTS / "checkout-return.png"), full_page=True)
        browser.close()
    fetched = requests.get(f"{url}/v1/checkout_sessions/{link['id']}", headers=headers, timeout=10).json()
    assert fetched["status"] == "complete"
    balance = requests.get(f"{url}/v1/customers/{customer['id']}/balance", headers=headers, timeout=10).json()
    assert balance["customer_credit"] == 2500


class Http:
    """The integration tests' ``Api`` (``request``, ``get``, ``post``) over real HTTP, so their
    helpers (invoices made through the API, the ledger checked) serve here unchanged."""

    def __init__(self, url: str) -> None:
        self._url = url

    def request(self, method: str, path: str, key: str | None = None, body: Any = None) -> Reply:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        answer = requests.request(method, self._url + path, headers=headers, json=body, timeout=30)
        parsed = answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else None
        return Reply(answer.status_code, dict(answer.headers), parsed, answer.content)

    def get(self, path: str, key: str | None = None) -> Reply:
        return self.request("GET", path, key)

    def post(self, path: str, key: str | None = None, body: Any = None) -> Reply:
        return self.request("POST", path, key, body)


def test_a_customer_underpays_an_invoice_in_crypto_then_pays_the_rest(stack: EmbeddedStack, served: str) -> None:
    """Whitepay's page takes any amount: USD 10.00 of the 15.00 due leaves the invoice open
    (``partially_paid``, 5.00 due); back on the checkout page, a second crypto order asks for
    the rest, and paying it settles the invoice."""
    from playwright.sync_api import sync_playwright

    api = Http(served)
    key = services.tenants().create_tenant("Crypto <b>Co</b>")[1].secret
    whitepay = {"slug": f"store-{uuid.uuid4().hex[:8]}", "token": f"wp_{uuid.uuid4().hex}",
                "webhook_token": f"wp_hook_{uuid.uuid4().hex}"}  # fmt: skip
    account = api.request("PUT", "/v1/payment_providers/whitepay", key, whitepay)
    assert account.status == 200, account.body
    assert stack.standins is not None and stack.plumbing is not None
    stack.standins.register_webhook(
        "whitepay", whitepay["slug"], account.body["webhook_url"], whitepay["webhook_token"]
    )
    _, customer, jan, _ = customer_with_two_invoices(api, key)  # two open invoices of USD 15.00
    created = api.post("/v1/checkout_sessions", key, {"invoice": jan["id"]})
    assert created.status == 201, created.body
    link = created.body
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.goto(link["url"])
        assert page.locator("[data-field=number]").inner_text() == jan["number"]
        assert page.locator("[data-field=amount_due]").inner_text() == "USD 15.00"
        page.screenshot(path=str(ARTIFACTS / "crypto-checkout.png"), full_page=True)

        page.click("form[data-method=whitepay] button")  # our server creates the order, 303 to its page
        shown(page, "form[data-action=pay]")
        assert page.input_value("form[data-action=pay] input[name=amount]") == "15"  # the full amount by default
        page.fill("form[data-action=pay] input[name=amount]", "10")
        page.screenshot(path=str(ARTIFACTS / "crypto-standin-underpay.png"), full_page=True)
        page.click("form[data-action=pay] button")
        page.wait_for_url(link["url"] + "/return")
        assert page.locator("[data-state]").get_attribute("data-state") == "processing"
        stack.plumbing.drain()  # transaction::completed, order::partially_fulfilled: processed
        shown(page, "[data-state=partially_paid]")  # the page refreshed itself
        assert page.locator("[data-field=amount_due]").inner_text() == "USD 5.00"
        page.screenshot(path=str(ARTIFACTS / "crypto-return-partially-paid.png"), full_page=True)
        underpaid = invoice(api, key, jan["id"])
        assert (underpaid["status"], underpaid["amount_paid"], underpaid["amount_due"]) == ("open", 1000, 500)

        page.click("a[data-action=back]")  # the return page links back to the checkout for the rest
        shown(page, "form[data-method=whitepay]")
        assert page.locator("[data-field=amount_due]").inner_text() == "USD 5.00"
        page.click("form[data-method=whitepay] button")  # a new order, for the rest
        shown(page, "form[data-action=pay]")
        assert page.input_value("form[data-action=pay] input[name=amount]") == "5"
        page.click("form[data-action=pay] button")
        page.wait_for_url(link["url"] + "/return")
        stack.plumbing.drain()
        shown(page, "[data-state=paid]")
        page.screenshot(path=str(ARTIFACTS / "crypto-return-paid.png"), full_page=True)
        page.goto(link["url"])
        assert page.locator("form").count() == 0  # nothing left to pay
        browser.close()

    paid = invoice(api, key, jan["id"])
    assert (paid["status"], paid["amount_paid"], paid["amount_due"]) == ("paid", 1500, 0)
    assert api.get(f"/v1/checkout_sessions/{link['id']}", key).body["status"] == "complete"
    payments = api.get(f"/v1/payments?invoice={jan['id']}", key).body["data"]
    assert sorted((p["provider"], p["status"], p["amount"], p["amount_received"]) for p in payments) == [
        ("whitepay", "partially_paid", 1500, 1000), ("whitepay", "succeeded", 500, 500)]  # fmt: skip
    ledger = balanced_ledger(api, key, customer)
    assert ledger["balances"]["cash:whitepay"] == 1500, json.dumps(ledger["balances"])
    assert api.get(f"/v1/customers/{customer}/balance", key).body["receivable"] == 1500  # February's, still open
