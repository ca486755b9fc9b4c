"""The customer portal (``/portal``): a tenant's customer sees and pays its invoices, watches its
usage, changes its plan, submits meter readings and sets its preferences.

A tenant asks for a one-time link (``POST /v1/portal_sessions``, ``portal_sessions``); opening
it (``/portal/start/<token>``) starts a session whose cookie every other page needs
(``chalicelib.browser``). Views parse, call the core through ``billing.portal`` and render.
"""

from __future__ import annotations

from billing.adapters.services import browser_sessions
from billing.browser_sessions import BrowserSession
from billing.errors import NotFound
from chalicelib import browser
from chalicelib.http import Call, Raw, route

QUERY = None  # pages read ``?lang=`` and ignore any other parameter


@route("/portal/start/{token}", auth=False, query=QUERY)
def portal_start(call: Call) -> Raw:
    """Open a portal link: the link is used up, a session starts, and the overview follows."""
    try:
        token, _ = browser_sessions().open_link(call.params["token"])
    except NotFound:
        return browser.message(call, 404, "link_expired", "link_expired_text")
    return browser.redirect("/portal", cookie=browser.set_cookie("portal", token))


@route("/portal", auth=False, query=QUERY)
def portal_overview(call: Call) -> Raw:
    return _signed_in(call, lambda session, _: _render(call, session, "portal/overview.html"))


@route("/portal/sign-out", methods=("POST",), auth=False, query=QUERY)
def portal_sign_out(call: Call) -> Raw:
    def sign_out(session: BrowserSession, _: dict[str, str]) -> Raw:
        browser_sessions().sign_out(browser.cookie_of(call, "portal") or "")
        return browser.message(call, 200, "signed_out", language_=session.locale)

    return _signed_in(call, sign_out)


def _signed_in(call: Call, view: browser.SessionView) -> Raw:
    ended = lambda: browser.message(call, 401, "session_ended", "link_expired_text")  # noqa: E731
    return browser.signed_in(call, "portal", view, ended)


def _render(call: Call, session: BrowserSession, template: str) -> Raw:
    from billing import pages
    from billing.adapters.services import business_name, customers

    language = browser.language(call, session.locale)
    customer = customers().get(session.scope, session.subject)
    body = pages.render(template, language, business=business_name(session.scope), customer=customer,
                        form_token=session.form_token, link=browser.link, return_url=session.return_url)  # fmt: skip
    return browser.page(body)
