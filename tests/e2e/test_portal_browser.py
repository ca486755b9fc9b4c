"""Headless Chromium uses the customer portal as a customer would, without any script of ours:
it opens a portal link, sees the balance and the invoices, downloads a PDF, changes the plan
after seeing the preview, submits a meter reading, and pays an invoice through the hosted
checkout (Stripe's stand-in). Each main page is screenshotted (``portal-*.png`` under
``E2E_ARTIFACTS``, in English, one in Russian, one at a phone's width) and checked with
axe-core (``axe-playwright-python``): no serious or critical violation.

Debian's ``chromium`` driven by ``playwright`` with ``executable_path``; never ``playwright
install``."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from billing.adapters import services
from infra.local.stack import EmbeddedStack
from tests.e2e.browser import ARTIFACTS, CHROMIUM, FLAGS, accessible, needs_chromium, shown
from tests.e2e.test_checkout_browser import Http
from tests.integration.portal_fixtures import portal_customer, portal_link

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = needs_chromium


def checked(page: Page, name: str) -> None:
    """A full-page screenshot ``portal-<name>.png``, and axe-core's check of the page."""
    page.screenshot(path=str(ARTIFACTS / f"portal-{name}.png"), full_page=True)
    accessible(page, name)


def usd(cents: int) -> str:
    return f"USD {cents / 100:,.2f}"


def test_a_customer_uses_the_portal_in_a_browser(stack: EmbeddedStack, served: str) -> None:
    from playwright.sync_api import sync_playwright

    assert stack.standins is not None and stack.plumbing is not None
    api = Http(served)
    key = services.tenants().create_tenant("Portal <b>Co</b>")[1].secret
    stripe = {"api_key": f"sk_test_{uuid.uuid4().hex}", "webhook_secret": "whsec_e2e_portal"}
    account = api.request("PUT", "/v1/payment_providers/stripe", key, stripe)
    assert account.status == 200, account.body
    stack.standins.register_webhook("stripe", stripe["api_key"], account.body["webhook_url"], stripe["webhook_secret"])
    jane = portal_customer(api, key, stack.plumbing.drain)
    oldest, newest = jane.invoices
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(accept_downloads=True, locale="en-US")
        page = context.new_page()
        page.goto(portal_link(api, key, jane.id))  # the link, then the overview with the session's cookie
        page.wait_for_url(f"{served}/portal")
        assert page.locator("[data-field=amount_due]").inner_text() == usd(oldest["amount_due"] + newest["amount_due"])
        assert page.locator("[data-field=customer]").inner_text().endswith("<script>alert(1)</script>")
        checked(page, "overview")

        page.click("[data-nav=invoices]")
        rows = page.locator("table[data-table=invoices] tbody tr")
        assert rows.count() == 2 and page.locator("[data-nav=invoices]").get_attribute("aria-current") == "page"
        checked(page, "invoices")
        with page.expect_download() as download:
            page.click(f"tr[data-invoice={oldest['id']}] a[data-action=pdf]")
        assert Path(download.value.path()).read_bytes().startswith(b"%PDF")

        page.click("[data-nav=plan]")
        page.check("input[name=plan][value=plus]")
        page.click("form[data-action=preview] button")
        shown(page, "form[data-action=confirm-plan]")
        assert page.locator("[data-field=target]").inner_text() == "Plus"
        checked(page, "plan-preview")
        page.click("form[data-action=confirm-plan] button")
        shown(page, "[data-done=plan_changed]")
        assert page.locator("[data-field=plan]").get_attribute("data-plan") == "plus"

        page.click("[data-nav=readings]")
        page.fill("input[name=reading]", "99")  # below the last reading: refused, next to the field
        page.click("form[data-action=reading] button")
        assert "below the previous reading" in page.locator("[data-error=reading]").inner_text()
        page.fill("input[name=reading]", "131.5")
        page.click("form[data-action=reading] button")
        shown(page, "[data-done=reading_saved]")
        stack.plumbing.drain()  # the reading's event reaches the aggregates
        page.reload()
        assert "21.5" in page.locator("section[data-meter=water_m3] table").inner_text()
        checked(page, "readings")

        page.click("[data-nav=usage]")
        assert page.locator("svg[data-chart=water_m3] rect.bar").count() >= 1
        checked(page, "usage")
        page.click("[data-nav=payments]")
        checked(page, "payments")
        page.click("[data-nav=preferences]")
        checked(page, "preferences")

        page.click("[data-nav=invoices]")
        page.click(f"form[data-action=pay][data-invoice={oldest['id']}] button")  # to our hosted checkout
        shown(page, "form[data-method=card]")
        assert page.locator("[data-field=number]").inner_text() == oldest["number"]
        page.click("form[data-method=card] button")
        shown(page, "form[data-action=pay]")  # the Stripe stand-in's page
        page.click("form[data-action=pay] button")
        page.wait_for_url("**/return")
        stack.plumbing.drain()  # Stripe's webhook: queued, now processed
        shown(page, "[data-state=paid]")
        page.goto(f"{served}/portal/payments")
        assert page.locator("[data-status=succeeded]").count() == 1

        page.goto(f"{served}/portal?lang=ru")
        assert page.locator("html").get_attribute("lang") == "ru"
        assert page.locator("[data-field=amount_due]").inner_text() == usd(newest["amount_due"])
        checked(page, "overview-ru")
        phone = context.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.goto(f"{served}/portal/invoices")
        checked(phone, "invoices-phone")
        browser.close()

    paid = requests.get(f"{served}/v1/invoices/{oldest['id']}", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert paid.json()["status"] == "paid"
    assert api.get(f"/v1/invoices/{newest['id']}", key).body["status"] == "open"
    subscription = api.get(f"/v1/subscriptions?customer={jane.id}", key).body["data"][0]
    assert subscription["plan_code"] == "plus"
