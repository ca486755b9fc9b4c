"""The operator dashboard over the local gateway: signing in with a key, the lists with the API's
filters and cursor, the search box, an object's page, and the support actions, each a plain
form post with the session's form token; a session reaches its own tenant and mode only."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from billing.tenants import TenantService
from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api, Reply
from tests.integration.test_payments_api import customer_with_two_invoices, invoice

EVIL = "<script>alert(1)</script>"
FORM = "application/x-www-form-urlencoded"


def sign_in(api: Api, key: str) -> str:
    """A dashboard session for ``key``: its cookie, as a ``Cookie`` header value."""
    signed = api.request("POST", "/dashboard/sign-in", body=urlencode({"api_key": key}).encode(), content_type=FORM)
    assert signed.status == 303, signed.raw
    assert signed.headers["Location"].endswith("/dashboard")
    return signed.headers["Set-Cookie"].split(";")[0]


def html(reply: Reply) -> str:
    return reply.raw.decode()


def form_token(page: Reply, field: str = "form_token") -> str:
    found = re.search(rf'name="{field}" value="([^"]+)"', html(page))
    assert found, html(page)
    return found.group(1)


def post(api: Api, path: str, cookie: str, fields: dict[str, str]) -> Reply:
    return api.request("POST", path, body=urlencode(fields).encode(), cookie=cookie, content_type=FORM)


def test_staff_sign_in_with_a_key_and_out_again(api: Api, key: str) -> None:
    form = api.get("/dashboard/sign-in")
    assert form.status == 200 and 'name="api_key"' in html(form) and 'type="password"' in html(form)
    refused = api.request("POST", "/dashboard/sign-in", body=b"api_key=sk_test_nope", content_type=FORM)
    assert refused.status == 401 and 'data-field="error"' in html(refused) and "Set-Cookie" not in refused.headers
    assert api.get("/dashboard").status == 303  # no session: to the sign-in form

    signed = api.request("POST", "/dashboard/sign-in", body=urlencode({"api_key": key}).encode(), content_type=FORM)
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dashboard" in cookie and key not in cookie
    session = cookie.split(";")[0]
    overview = api.get("/dashboard", cookie=session)
    assert overview.status == 200 and 'data-field="mode"' in html(overview)  # a test key: test mode shown
    assert api.get("/portal", cookie=session.replace("billing_dashboard", "billing_portal")).status == 401

    assert post(api, "/dashboard/sign-out", session, {"form_token": "forged"}).status == 400
    out = post(api, "/dashboard/sign-out", session, {"form_token": form_token(overview)})
    assert out.status == 303 and out.headers["Location"].endswith("/dashboard/sign-in")
    assert api.get("/dashboard", cookie=session).status == 303


def test_lists_take_the_apis_filters_and_cursor(api: Api, key: str) -> None:
    made = [api.post("/v1/customers", key, {"name": f"{EVIL} {n}", "email": f"c{n}@example.com"}).body["id"]
            for n in range(3)]  # fmt: skip
    cookie = sign_in(api, key)
    first = api.get("/dashboard/customers?limit=2", cookie=cookie)
    text = html(first)
    assert first.status == 200 and EVIL not in text and "&lt;script&gt;" in text
    assert made[2] in text and made[1] in text and made[0] not in text  # newest first
    following = re.search(r'rel="next" data-action="next" href="([^"]+)"', text)
    assert following, text
    second = api.get(following.group(1).replace("&amp;", "&"), cookie=cookie)
    assert made[0] in html(second) and made[2] not in html(second)

    by_email = api.get("/dashboard/customers?email=c1%40example.com&status=", cookie=cookie)
    assert made[1] in html(by_email) and made[0] not in html(by_email)  # an empty filter filters nothing
    assert api.get("/dashboard/customers?status=nope", cookie=cookie).status == 400

    found = api.get(f"/dashboard/search?q={made[0]}", cookie=cookie)
    assert found.status == 303 and found.headers["Location"].endswith(f"/dashboard/customers/{made[0]}")
    by_search = api.get("/dashboard/search?q=c2%40example.com", cookie=cookie)
    assert by_search.headers["Location"].endswith("/dashboard/customers?email=c2%40example.com")


def test_support_actions_go_through_the_apis_rules(api: Api, key: str, stack: EmbeddedStack) -> None:
    _, customer, jan, feb = customer_with_two_invoices(api, key)
    cookie = sign_in(api, key)
    page = api.get(f"/dashboard/customers/{customer}", cookie=cookie)
    assert page.status == 200 and jan["id"] in html(page) and 'data-field="receivable">USD 30.00' in html(page)
    token, nonce = form_token(page), form_token(page, "nonce")

    path = f"/dashboard/customers/{customer}/payments"
    unsigned = post(
        api, path, cookie, {"nonce": nonce, "amount": "15.00", "currency": "USD", "channel": "bank_transfer"}
    )
    assert unsigned.status == 400  # no form token: nothing recorded
    signed = {"form_token": token, "nonce": nonce}
    assert (
        post(api, path, cookie, {"form_token": token, "amount": "15.00", "currency": "USD"}).status == 400
    )  # no nonce
    too_fine = post(api, path, cookie, {**signed, "amount": "15.001", "currency": "USD"})
    assert too_fine.status == 400 and "amount" in html(too_fine)
    bad_channel = post(api, path, cookie, {**signed, "amount": "15.00", "currency": "USD", "channel": "x"})
    assert bad_channel.status == 400 and "channel" in html(bad_channel)
    assert api.get(f"/v1/payments?customer={customer}", key).body["data"] == []
    fields = {**signed, "amount": "15,00", "currency": "USD", "channel": "bank_transfer", "reference": "BANK-1"}
    with ThreadPoolExecutor(2) as pool:  # a double click: both posts at once, both answered as the first
        answers = list(pool.map(lambda client: post(client, path, cookie, fields), [Api(stack), Api(stack)]))
    assert [paid.status for paid in answers] == [303, 303], [paid.raw for paid in answers]
    assert answers[0].headers["Location"].endswith(f"/dashboard/customers/{customer}")
    assert post(api, path, cookie, fields).status == 303  # the same form again later: still recorded once
    edited = post(api, path, cookie, {**fields, "amount": "16.00"})  # the form edited after going back
    assert edited.status == 409 and "already sent" in html(edited)
    [payment] = api.get(f"/v1/payments?customer={customer}", key).body["data"]
    assert (payment["amount"], payment["channel"], payment["provider_reference"]) == (1500, "bank_transfer", "BANK-1")
    assert invoice(api, key, jan["id"])["status"] == "paid"  # allocated oldest first

    checkout = post(api, f"/dashboard/invoices/{feb['id']}/checkout_link", cookie, {"form_token": token})
    assert checkout.status == 200 and "/pay/" in html(checkout)
    assert customer in html(api.get(f"/dashboard/invoices/{feb['id']}", cookie=cookie))

    invoice_page = api.get(f"/dashboard/invoices/{feb['id']}", cookie=cookie)
    credit = {"form_token": token, "nonce": form_token(invoice_page, "nonce"), "reason": "billing_error",
              "memo": "wrong meter"}  # fmt: skip
    credited = post(api, f"/dashboard/invoices/{feb['id']}/credit_notes", cookie, credit)
    assert credited.status == 303
    assert invoice(api, key, feb["id"])["amount_credited"] == 1500

    portal = post(api, f"/dashboard/customers/{customer}/portal_link", cookie, {"form_token": token})
    url = re.search(r'value="([^"]+/portal/start/[^"]+)" data-field="url"', html(portal))
    assert portal.status == 200 and url, html(portal)
    assert api.get("/" + url.group(1).split("://", 1)[1].split("/", 1)[1]).status == 303  # it opens the portal


def test_a_session_reaches_its_own_tenant_and_mode_only(
    api: Api, key: str, other_key: str, tenants: TenantService
) -> None:
    customer = api.post("/v1/customers", key, {"name": "Mine"}).body["id"]
    theirs = sign_in(api, other_key)
    assert api.get(f"/dashboard/customers/{customer}", cookie=theirs).status == 404
    assert customer not in html(api.get("/dashboard/customers", cookie=theirs))
    token = form_token(api.get("/dashboard", cookie=theirs))
    refused = post(api, f"/dashboard/customers/{customer}/portal_link", theirs, {"form_token": token})
    assert refused.status == 404

    tenant = tenants.authenticate(f"Bearer {key}").tenant_id
    live = sign_in(api, tenants.create_key(tenant, livemode=True).secret)
    assert 'data-field="mode"' not in html(api.get("/dashboard", cookie=live))
    assert api.get(f"/dashboard/customers/{customer}", cookie=live).status == 404


def test_the_overview_shows_the_reports_the_api_answers(api: Api, key: str, stack: EmbeddedStack) -> None:
    """Two subscriptions (a monthly 10.00 and a yearly 120.00 plan: 20.00 of MRR) and an open
    invoice of 25.00: the overview's figures are the API's reports', in the currency asked for."""
    assert stack.plumbing is not None
    for code, interval, fee in (("m", "month", 1000), ("y", "year", 12000)):
        plan = {"code": code, "name": code, "currency": "EUR", "interval": interval, "base_fee": fee}
        assert api.post("/v1/plans", key, plan).status == 201
    for name, plan in (("Ann", "m"), ("Bob", "y")):
        who = api.post("/v1/customers", key, {"name": name, "currency": "EUR"}).body["id"]
        assert api.post("/v1/subscriptions", key, {"customer": who, "plan": plan}).status == 201
    item = {"customer": who, "amount": 2500, "currency": "EUR", "description": "Setup", "invoice_now": True}
    assert api.post("/v1/invoice_items", key, item).status == 201  # Bob owes 25.00
    stack.plumbing.drain()
    cookie = sign_in(api, key)
    page = html(api.get("/dashboard", cookie=cookie))  # the latest invoice's currency: EUR
    mrr = api.get("/v1/reports/mrr?currency=EUR", key).body
    aging = api.get("/v1/reports/aging?currency=EUR", key).body
    assert mrr["mrr"] == 2000 and aging["total"] == 2500
    assert 'data-field="mrr">EUR 20.00<' in page and 'data-field="arr">EUR 240.00<' in page
    assert 'data-field="receivables">EUR 25.00<' in page
    assert 'data-chart="mrr"' in page and 'data-table="debtors"' in page and "Bob" in page
    usd = html(api.get("/dashboard?currency=USD", cookie=cookie))
    assert 'data-field="mrr">USD 0.00<' in usd
    assert api.get("/dashboard?currency=usdx", cookie=cookie).status == 400
    debtors = html(api.get("/dashboard/debtors?currency=EUR", cookie=cookie))
    assert "Bob" in debtors and "Ann" not in debtors


def test_another_sites_page_cannot_sign_a_browser_in(api: Api, key: str) -> None:
    """Login CSRF: a form on another site posting a key of its own is refused."""
    body = urlencode({"api_key": key}).encode()
    for headers in ({"sec_fetch_site": "cross-site"}, {"sec_fetch_site": "same-site"}):
        refused = api.request("POST", "/dashboard/sign-in", body=body, content_type=FORM, **headers)
        assert refused.status == 403 and "Set-Cookie" not in refused.headers
    ours = api.request("POST", "/dashboard/sign-in", body=body, content_type=FORM, sec_fetch_site="same-origin")
    assert ours.status == 303
