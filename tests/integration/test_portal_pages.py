"""The customer portal's pages and forms over the local gateway: what each page shows, every
action as a plain form post with the session's form token, refusals shown next to their field
with the API's own words, and a session that reaches nothing of another customer, tenant or
mode (404, as for an id that does not exist)."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from urllib.parse import urlencode

import pytest

from billing.tenants import TenantService
from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api, Reply
from tests.integration.portal_fixtures import EVIL, FORM, PortalCustomer, form_token, portal_customer, portal_link
from tests.integration.test_portal_sessions import open_link

pytestmark = pytest.mark.xdist_group("portal")


class Browser:
    """One portal session: its cookie, and the form token of the last page read."""

    def __init__(self, api: Api, cookie: str) -> None:
        self.api, self.cookie, self.token = api, cookie, ""

    def get(self, path: str) -> Reply:
        page = self.api.get(path, cookie=self.cookie)
        if b'name="form_token"' in page.raw:
            self.token = form_token(page.raw.decode())
        return page

    def post(self, path: str, token: str | None = None, **fields: str) -> Reply:
        body = urlencode({"form_token": self.token if token is None else token, **fields}).encode()
        return self.api.request("POST", path, body=body, cookie=self.cookie, content_type=FORM)


@pytest.fixture
def jane(api: Api, key: str, stack: EmbeddedStack) -> PortalCustomer:
    return portal_customer(api, key, drain(stack))


def drain(stack: EmbeddedStack) -> Callable[[], None]:
    assert stack.plumbing is not None
    return stack.plumbing.drain


def signed_in(api: Api, key: str, customer: str, **link: str) -> Browser:
    browser = Browser(api, open_link(api, portal_link(api, key, customer, **link)))
    browser.get("/portal")
    return browser


def html(page: Reply) -> str:
    return page.raw.decode()


def nonce(page: str) -> str:
    found = re.search(r'name="nonce" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def test_the_overview_shows_what_is_due_and_escapes_every_name(api: Api, key: str, jane: PortalCustomer) -> None:
    page = signed_in(api, key, jane.id).get("/portal")
    text = html(page)
    assert page.status == 200, text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert EVIL not in text and "Jane &lt;script&gt;" in text and "Water &lt;script&gt;" in text
    due = sum(invoice["amount_due"] for invoice in jane.invoices)
    assert f'data-field="amount_due">USD {due / 100:,.2f}<' in text
    oldest = jane.invoices[0]
    assert f'/portal/invoices/{oldest["id"]}/pay" data-action="pay"' in text  # the oldest first
    assert 'data-access="allowed"' in text and 'data-field="customer_credit">USD 0.00<' in text
    assert 'data-field="estimate"' in text and 'data-supplier="water"' in text
    assert '/portal" data-nav="overview" aria-current="page">' in text
    assert " style=" not in text and "<script" not in text


def test_invoices_list_download_and_pay_through_the_checkout(api: Api, key: str, jane: PortalCustomer) -> None:
    browser = signed_in(api, key, jane.id)
    text = html(browser.get("/portal/invoices"))
    for invoice in jane.invoices:
        assert f'data-invoice="{invoice["id"]}"' in text and invoice["number"] in text
    pdf = browser.get(f"/portal/invoices/{jane.invoices[0]['id']}/pdf")
    assert pdf.status == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.raw.startswith(b"%PDF") and jane.invoices[0]["number"] in pdf.headers["Content-Disposition"]

    paid = browser.post(f"/portal/invoices/{jane.invoices[0]['id']}/pay")
    assert paid.status == 303, paid.raw
    checkout = api.get("/" + paid.headers["Location"].split("/", 3)[3])
    assert checkout.status == 200 and jane.invoices[0]["number"] in html(checkout)
    pay = {"customer": jane.id, "amount": 1000, "currency": "USD", "channel": "bank_transfer"}
    assert api.post("/v1/payments", key, pay).status == 201
    payments = html(browser.get("/portal/payments"))
    assert 'data-status="succeeded"' in payments and "USD 10.00" in payments


def test_a_session_reaches_no_other_customer_tenant_or_mode(
    api: Api, key: str, other_key: str, tenants: TenantService, stack: EmbeddedStack, jane: PortalCustomer
) -> None:
    bob = portal_customer(api, key, drain(stack), name="Bob")
    stranger = portal_customer(api, other_key, drain(stack), name="Stranger")
    tenant = tenants.authenticate(f"Bearer {key}").tenant_id
    live_key = tenants.create_key(tenant, livemode=True).secret
    live_customer = api.post("/v1/customers", live_key, {"name": "Live", "currency": "USD"}).body["id"]
    item = {"customer": live_customer, "amount": 700, "currency": "USD", "description": "Live", "invoice_now": True}
    live_invoice = api.post("/v1/invoice_items", live_key, item).body["invoice"]
    browser = signed_in(api, key, jane.id)
    foreign = [bob.invoices[0]["id"], stranger.invoices[0]["id"], live_invoice, "inv_nothing", "../../v1/customers"]
    for invoice in foreign:
        assert browser.get(f"/portal/invoices/{invoice}/pdf").status == 404, invoice
        assert browser.post(f"/portal/invoices/{invoice}/pay").status == 404, invoice
    listed = html(browser.get("/portal/invoices"))
    assert all(invoice["id"] not in listed for invoice in bob.invoices + stranger.invoices)
    assert api.get(f"/v1/invoices/{bob.invoices[0]['id']}", key).body["status"] == "open"  # nothing paid
    assert browser.get("/portal/payments").status == 200

    live = Browser(api, open_link(api, portal_link(api, live_key, live_customer)))
    assert 'data-field="test_mode"' not in html(live.get("/portal"))
    assert live.get(f"/portal/invoices/{live_invoice}/pdf").status == 200
    assert live.get(f"/portal/invoices/{jane.invoices[0]['id']}/pdf").status == 404  # a test object, a live session


def test_every_form_needs_the_sessions_form_token(api: Api, key: str, jane: PortalCustomer) -> None:
    browser = signed_in(api, key, jane.id)
    posts = [
        (f"/portal/invoices/{jane.invoices[0]['id']}/pay", {}),
        ("/portal/plan/preview", {"plan": "plus"}),
        ("/portal/plan/change", {"plan": "plus"}),
        ("/portal/readings", {"meter": "water_m3", "reading": "150", "reading_id": "forged"}),
        ("/portal/preferences", {"locale": "ru", "email": "evil@example.com"}),
        ("/portal/sign-out", {}),
    ]
    for path, fields in posts:
        assert browser.post(path, token="forged", **fields).status == 400, path
        assert browser.post(path, token="", **fields).status == 400, path
    customer = api.get(f"/v1/customers/{jane.id}", key).body
    assert (customer["locale"], customer["email"]) == ("en", "jane@example.com")
    assert api.get(f"/v1/subscriptions?customer={jane.id}", key).body["data"][0]["plan_code"] == "basic"
    assert api.get("/portal/plan").status == 401  # and without the cookie, nothing at all
    assert api.request("POST", "/portal/plan/change", body=b"plan=plus", content_type=FORM).status == 401


def test_a_plan_change_is_previewed_then_confirmed(
    api: Api, key: str, jane: PortalCustomer, stack: EmbeddedStack
) -> None:
    browser = signed_in(api, key, jane.id)
    assert api.request("PATCH", "/v1/settings", key, {"portal_plans": []}).status == 200
    closed = html(browser.get("/portal/plan"))
    assert 'value="plus"' not in closed  # no plan opened to customers: no change offered
    assert browser.post("/portal/plan/preview", plan="plus").status == 404
    assert api.request("PATCH", "/v1/settings", key, {"portal_plans": ["plus"]}).status == 200
    plan = html(browser.get("/portal/plan"))
    assert 'data-plan="basic"' in plan and 'value="plus"' in plan and "Support" in plan
    expected = api.get(f"/v1/subscriptions?customer={jane.id}", key).body["data"][0]
    api_preview = api.get(f"/v1/subscriptions/{expected['id']}/change_preview?plan=plus", key).body
    preview = browser.post("/portal/plan/preview", plan="plus")
    assert preview.status == 200, preview.raw
    shown = html(preview)
    assert 'data-action="confirm-plan"' in shown and f"USD {api_preview['total'] / 100:,.2f}" in shown
    assert api.get(f"/v1/subscriptions/{expected['id']}", key).body["plan_code"] == "basic"  # nothing changed yet
    assert browser.post("/portal/plan/preview", plan="enterprise").status == 404
    assert browser.post("/portal/plan/change", plan="plus").status == 400  # not the form shown: no nonce
    confirm = {"plan": "plus", "nonce": nonce(shown)}
    twins = [Browser(Api(stack), browser.cookie) for _ in range(2)]  # two connections, as a browser resending
    for twin in twins:
        twin.token = browser.token
    with ThreadPoolExecutor(2) as pool:  # a double click: both posts at once, both answered as the first
        answers = list(pool.map(lambda twin: twin.post("/portal/plan/change", **confirm), twins))
    assert [a.status for a in answers] == [303, 303], [a.raw for a in answers]
    assert all(a.headers["Location"].endswith("/portal/plan?done=plan_changed") for a in answers)
    again = browser.post("/portal/plan/change", plan="plus", nonce="another-form")  # the same change again
    history = api.get(f"/v1/subscriptions/{expected['id']}/history", key).body["data"]
    assert again.status == 303 and [entry["type"] for entry in history].count("plan_changed") == 1
    assert api.get(f"/v1/subscriptions/{expected['id']}", key).body["plan_code"] == "plus"
    assert 'data-done="plan_changed"' in html(browser.get("/portal/plan?done=plan_changed"))


def test_meter_readings_are_refused_as_the_api_refuses_them(
    api: Api, key: str, stack: EmbeddedStack, jane: PortalCustomer
) -> None:
    browser = signed_in(api, key, jane.id)
    page = html(browser.get("/portal/readings"))
    assert 'data-field="last_reading"' in page and "100" in page
    for reading, status in [("12,5", 400), ("90", 422)]:
        body = {"customer": jane.id, "meter": "water_m3", "reading": reading, "timestamp": "2026-02-01T02:00:00Z",
                "reading_id": f"api-{reading}-{jane.id}"}  # fmt: skip
        from_api = api.post("/v1/meter_readings", key, body)
        form = {"meter": "water_m3", "reading": reading, "reading_id": f"p-{reading}-{jane.id}"}
        refused = browser.post("/portal/readings", **form)
        assert (from_api.status, refused.status) == (status, status)
        assert f'data-error="reading">{from_api.body["error"]["message"]}<' in unescape(html(refused))
        assert 'aria-invalid="true"' in html(refused) and f'value="{reading}"' in html(refused)
    accepted = browser.post("/portal/readings", meter="water_m3", reading="123.5", reading_id="portal-1")
    assert accepted.status == 303 and accepted.headers["Location"].endswith("done=reading_saved")
    again = browser.post("/portal/readings", meter="water_m3", reading="123.5", reading_id="portal-1")
    assert again.status == 303  # the same form twice: recorded once
    drain(stack)()  # the events are listed once the aggregator has them
    page = html(browser.get("/portal/readings?done=reading_saved"))
    kept = f"portal-{jane.id}-portal-1"  # the id is the server's, under the customer's name
    assert page.count(f'data-reading="{kept}"') == 1 and "23.5" in page and 'data-done="reading_saved"' in page
    assert browser.post("/portal/readings", meter="api_calls", reading="1", reading_id="p-x").status == 400


def test_preferences_change_the_customer_and_the_language(api: Api, key: str, jane: PortalCustomer) -> None:
    browser = signed_in(api, key, jane.id)
    browser.get("/portal/preferences")
    bad = browser.post("/portal/preferences", locale="en", email="not-an-email", channel_email="1")
    assert bad.status == 400 and 'data-error="email"' in html(bad) and 'value="not-an-email"' in html(bad)
    saved = browser.post("/portal/preferences", locale="ru", email="", phone="+14155550123", channel_sms="1")
    assert saved.status == 303, saved.raw
    customer = api.get(f"/v1/customers/{jane.id}", key).body
    assert (customer["locale"], customer["email"], customer["phone"]) == ("ru", None, "+14155550123")
    assert customer["notification_channels"] == ["sms"]
    page = html(browser.get("/portal/preferences?done=preferences_saved"))
    assert 'lang="ru"' in page and "Настройки сохранены" in page


def test_usage_shows_a_chart_per_meter_drawn_on_the_server(
    api: Api, key: str, stack: EmbeddedStack, jane: PortalCustomer
) -> None:
    browser = signed_in(api, key, jane.id)
    assert browser.post("/portal/readings", meter="water_m3", reading="122", reading_id="u-1").status == 303
    drain(stack)()
    page = browser.get("/portal/usage")
    text = html(page)
    assert page.status == 200, text
    assert '<svg class="chart"' in text and 'data-chart="water_m3"' in text and 'role="img"' in text
    assert 'data-field="quantity">This period: 12<' in text and 'data-field="cost"' in text
    assert "<script" not in text and " style=" not in text
