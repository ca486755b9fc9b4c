"""The customer portal (``/portal``): a tenant's customer sees and pays its invoices, watches its
usage, changes its plan, submits meter readings and sets its preferences.

A tenant asks for a one-time link (``POST /v1/portal_sessions``, ``portal_sessions``); opening
it (``/portal/start/<token>``) starts a session whose cookie every other page needs
(``chalicelib.browser``). Views parse, call the core through ``billing.portal`` and render
(``chalicelib.portal_view``); the customer and scope are always the session's, never the
request's. This module has the overview, invoices and payments; ``portal_account`` the usage,
plan, readings and preferences.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from billing.adapters.services import browser_sessions, portal
from billing.browser_sessions import BrowserSession
from billing.errors import NotFound
from chalicelib import browser
from chalicelib.http import Call, Document, Raw, route
from chalicelib.portal_view import render, signed_in

if TYPE_CHECKING:
    from billing.portal.model import Listed
    from billing.scope import Scope

QUERY = None  # pages read ``?lang=`` (and ``after``, ``done``) and ignore any other parameter


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
    def show(session: BrowserSession, _: dict[str, str]) -> Raw:
        overview = portal().overview(session.scope, session.subject)
        return render(call, session, "portal/overview.html", customer=overview.customer, overview=overview)

    return signed_in(call, show)


@route("/portal/invoices", auth=False, query=QUERY)
def portal_invoices(call: Call) -> Raw:
    return _listed(call, "portal/invoices.html", portal().invoices)


@route("/portal/invoices/{invoice_id}/pdf", auth=False, query=QUERY)
def portal_invoice_pdf(call: Call) -> Raw | Document:
    """The customer's invoice as a PDF; 404 for an invoice that is not the session customer's."""

    def pdf(session: BrowserSession, _: dict[str, str]) -> Document:
        content, filename = portal().invoice_pdf(session.scope, session.subject, call.params["invoice_id"])
        return Document(content, "application/pdf", filename)

    return signed_in(call, pdf)


@route("/portal/invoices/{invoice_id}/pay", methods=("POST",), auth=False, query=QUERY)
def portal_pay_invoice(call: Call) -> Raw:
    """A hosted checkout session for the customer's invoice, and 303 to its page."""

    def pay(session: BrowserSession, _: dict[str, str]) -> Raw:
        return browser.redirect(portal().pay(session.scope, session.subject, call.params["invoice_id"]))

    return signed_in(call, pay)


@route("/portal/payments", auth=False, query=QUERY)
def portal_payments(call: Call) -> Raw:
    return _listed(call, "portal/payments.html", portal().payments)


@route("/portal/sign-out", methods=("POST",), auth=False, query=QUERY)
def portal_sign_out(call: Call) -> Raw:
    def sign_out(session: BrowserSession, _: dict[str, str]) -> Raw:
        browser_sessions().sign_out(browser.cookie_of(call, "portal") or "")
        signed_out = browser.message(call, 200, "signed_out", language_=session.locale)
        return Raw(
            signed_out.status, signed_out.body, {**signed_out.headers, "Set-Cookie": browser.clear_cookie("portal")}
        )

    return signed_in(call, sign_out)


def _listed(call: Call, template: str, page_of: Callable[[Scope, str, str | None], Listed[Any]]) -> Raw:
    """A page of the customer's invoices or payments, older ones after ``?after=``."""

    def show(session: BrowserSession, _: dict[str, str]) -> Raw:
        listed = page_of(session.scope, session.subject, call.query.get("after"))
        return render(call, session, template, listed=listed)

    return signed_in(call, show)
