"""Portal links and sessions over the local gateway: a link opens once and starts a session
whose cookie reaches its customer's pages only; forms need the session's form token."""

from __future__ import annotations

import re

from tests.integration.conftest import Api, Reply

EVIL = "<script>alert(1)</script>"


def customer(api: Api, key: str, name: str = f"Jane {EVIL}") -> str:
    created = api.post("/v1/customers", key, {"name": name, "currency": "USD", "external_id": "acct-7"})
    assert created.status == 201, created.body
    return str(created.body["id"])


def link(api: Api, key: str, **body: str) -> Reply:
    return api.post("/v1/portal_sessions", key, body)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1] if "://" in url else url


def open_link(api: Api, url: str) -> str:
    """Open ``url``; the session cookie it sets, as a ``Cookie`` header value."""
    opened = api.get(path_of(url))
    assert opened.status == 303, opened.raw
    assert opened.headers["Location"].endswith("/portal")
    return opened.headers["Set-Cookie"].split(";")[0]


def form_token(page: Reply) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page.raw.decode())
    assert found, page.raw
    return found.group(1)


def test_a_link_opens_once_and_its_session_shows_its_customer(api: Api, key: str) -> None:
    cus = customer(api, key)
    created = link(api, key, customer="acct-7", locale="ru", return_url="https://example.com/account")
    assert created.status == 201, created.body
    assert created.body["customer"] == cus and created.body["livemode"] is False
    assert created.body["locale"] == "ru" and created.body["return_url"] == "https://example.com/account"
    token = created.body["url"].rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 bits, base64url

    opened = api.get(path_of(created.body["url"]))
    cookie = opened.headers["Set-Cookie"]
    assert opened.status == 303 and opened.headers["Location"].endswith("/portal")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/portal" in cookie
    assert "Secure" not in cookie  # the local stack serves plain http

    again = api.get(path_of(created.body["url"]))
    assert again.status == 404 and "Set-Cookie" not in again.headers

    page = api.get("/portal", cookie=cookie.split(";")[0])
    html = page.raw.decode()
    assert page.status == 200, html
    assert 'lang="ru"' in html and "Jane &lt;script&gt;" in html and EVIL not in html
    assert "https://example.com/account" in html
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "form-action 'self';" in policy  # no form of the portal leaves us


def test_without_a_live_session_the_portal_is_closed(api: Api, key: str) -> None:
    assert api.get("/portal").status == 401
    assert api.get("/portal", cookie="billing_portal=forged").status == 401
    assert api.get("/portal/start/forged").status == 404
    dashboard_cookie = open_link(api, link(api, key, customer=customer(api, key)).body["url"])
    assert api.get("/portal", cookie=dashboard_cookie.replace("billing_portal", "billing_dashboard")).status == 401


def test_signing_out_needs_the_form_token_and_ends_the_session(api: Api, key: str) -> None:
    cookie = open_link(api, link(api, key, customer=customer(api, key)).body["url"])
    token = form_token(api.get("/portal", cookie=cookie))
    forged = api.request("POST", "/portal/sign-out", body=b"form_token=nope", cookie=cookie,
                         content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert forged.status == 400
    assert api.get("/portal", cookie=cookie).status == 200
    signed_out = api.request("POST", "/portal/sign-out", body=f"form_token={token}".encode(), cookie=cookie,
                             content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert signed_out.status == 200
    assert api.get("/portal", cookie=cookie).status == 401


def test_links_are_refused_for_what_they_cannot_open(api: Api, key: str, other_key: str) -> None:
    cus = customer(api, key)
    assert link(api, other_key, customer=cus).status == 404  # another tenant's customer
    missing = link(api, key)
    assert missing.status == 400 and missing.body["error"]["param"] == "customer"
    bad = link(api, key, customer=cus, return_url="javascript:alert(1)")
    assert bad.status == 400 and bad.body["error"]["param"] == "return_url"
    assert api.delete(f"/v1/customers/{cus}", key).status == 200
    assert link(api, key, customer=cus).status == 409
