"""Headless Chromium in the operator dashboard: staff sign in with the tenant's key, see the MRR
the API reports, search a
customer, open it, record an offline payment and create a portal link, which opens the
customer's portal; every page passes axe-core with no serious or critical violation, at a
desktop and a phone width. Screenshots are kept under ``E2E_ARTIFACTS``."""

from __future__ import annotations

from billing.adapters import services
from infra.local.stack import EmbeddedStack
from tests.e2e.browser import ARTIFACTS, CHROMIUM, FLAGS, accessible, needs_chromium, shown
from tests.e2e.test_checkout_browser import Http
from tests.integration.test_payments_api import customer_with_two_invoices

pytestmark = needs_chromium


def test_staff_find_a_customer_record_a_payment_and_hand_out_a_portal_link(stack: EmbeddedStack, served: str) -> None:
    from playwright.sync_api import sync_playwright

    from billing.money import format_amount

    api = Http(served)
    key = services.tenants().create_tenant("Dashboard <b>Co</b>")[1].secret
    _, customer, jan, _ = customer_with_two_invoices(api, key)
    assert stack.plumbing is not None
    stack.plumbing.drain()  # the reports aggregator has the subscription
    mrr = api.get("/v1/reports/mrr?currency=USD", key).body["mrr"]
    assert mrr == 1500  # basic 10.00 and water 5.00 a month
    assert api.request("PATCH", f"/v1/customers/{customer}", key, {"email": "payer@example.com"}).status == 200
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(java_script_enabled=False)  # every action is a plain form
        page.goto(f"{served}/dashboard")
        shown(page, "form[data-action=sign-in]")  # no session: the sign-in form
        page.fill("#api_key", key)
        page.click("form[data-action=sign-in] button")
        page.wait_for_url(f"{served}/dashboard")
        assert page.locator("[data-field=business]").inner_text() == "Dashboard <b>Co</b>"
        assert page.locator("[data-field=mrr]").inner_text() == format_amount(mrr, "USD")  # the API's MRR
        assert page.locator("svg[data-chart=mrr] rect").count() == 12
        page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"), full_page=True)

        page.fill("#q", "payer@example.com")
        page.click("form[data-action=search] button")
        shown(page, "table[data-table=customers]")
        page.screenshot(path=str(ARTIFACTS / "dashboard-customers.png"), full_page=True)
        page.click("table[data-table=customers] a")
        page.wait_for_url(f"{served}/dashboard/customers/{customer}")
        assert page.locator("[data-field=receivable]").inner_text() == "USD 30.00"
        page.fill("#p-amount", "15.00")
        page.select_option("#p-channel", "cash_desk")
        page.click("form[data-action=offline-payment] button[type=submit]")
        page.wait_for_url(f"{served}/dashboard/customers/{customer}")
        assert page.locator("[data-field=receivable]").inner_text() == "USD 15.00"
        page.screenshot(path=str(ARTIFACTS / "dashboard-customer.png"), full_page=True)
        with browser.new_context(java_script_enabled=True) as checked:  # axe runs as a script
            for path in ("/dashboard", f"/dashboard/customers/{customer}", f"/dashboard/invoices/{jan['id']}"):
                tab = checked.new_page()
                tab.context.add_cookies(page.context.cookies())
                tab.goto(served + path)
                accessible(tab)
                tab.set_viewport_size({"width": 390, "height": 844})
                accessible(tab)
            tab.screenshot(path=str(ARTIFACTS / "dashboard-invoice-phone.png"), full_page=True)

        page.click("form[data-action=portal-link] button")
        url = page.locator("[data-field=url]").input_value()
        assert "/portal/start/" in url
        page.goto(url)
        page.wait_for_url(f"{served}/portal")
        assert "Payer" in page.locator("[data-field=customer]").inner_text()
        browser.close()
    paid = api.get(f"/v1/payments?customer={customer}", key).body["data"]
    assert [(p["amount"], p["channel"]) for p in paid] == [(1500, "cash_desk")]
