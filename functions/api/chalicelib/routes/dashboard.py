"""The operator dashboard (``/dashboard``): the tenant's staff sign in with an API key and see
the reports as charts and tables, list and search customers, subscriptions, invoices and
payments, open each, and do what support needs: a portal link, a checkout link, a credit
note, an offline payment.

A session (``chalicelib.browser``) acts in the key's tenant and mode; every read and action
goes through the same services and input models as the API, so a page refuses what the API
refuses, naming the field. The lists take the API's own filters and cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from billing.adapters import services
from billing.browser_sessions import BrowserSession
from billing.errors import Unauthenticated
from chalicelib import browser
from chalicelib.http import Call, Raw, route

QUERY = None  # pages read their own parameters (filters, ``lang``) and ignore any other


@route("/dashboard/sign-in", auth=False, query=QUERY)
def dashboard_sign_in_page(call: Call) -> Raw:
    return _sign_in_form(call, 200)


@route("/dashboard/sign-in", methods=("POST",), auth=False, query=QUERY)
def dashboard_sign_in(call: Call) -> Raw:
    """A valid key starts a session and opens the overview; a bad one shows the form again. A
    post from another site's page (``Sec-Fetch-Site``, else ``Origin``) is refused: it would sign
    the browser in to someone else's tenant (login CSRF; the form has no session to carry a
    token yet)."""
    if _cross_site(call):
        return _sign_in_form(call, 403, refused=True)
    try:
        token, _ = services.browser_sessions().sign_in(browser.form(call).get("api_key", ""))
    except Unauthenticated:
        return _sign_in_form(call, 401, refused=True)
    return browser.redirect("/dashboard", cookie=browser.set_cookie("dashboard", token))


@route("/dashboard/sign-out", methods=("POST",), auth=False, query=QUERY)
def dashboard_sign_out(call: Call) -> Raw:
    def sign_out(session: BrowserSession, _: dict[str, str]) -> Raw:
        services.browser_sessions().sign_out(browser.cookie_of(call, "dashboard") or "")
        return browser.redirect("/dashboard/sign-in", cookie=browser.clear_cookie("dashboard"))

    return _signed_in(call, sign_out)


@route("/dashboard", auth=False, query=QUERY)
def dashboard_overview(call: Call) -> Raw:
    """The reports of one currency (``?currency=``, else the latest invoice's) as charts and tables."""

    def view(session: BrowserSession, _: dict[str, str]) -> Raw:
        from billing.dashboard.overview import overview
        from billing.pages.strings import STRINGS

        words = STRINGS[browser.language(call)]
        shown = overview(services.reports(), session.scope, _currency(call, session), words.__getitem__)
        return _render(call, session, "dashboard/overview.html", "overview", overview=shown)

    return _signed_in(call, view)


@route("/dashboard/debtors", auth=False, query=QUERY)
def dashboard_debtors(call: Call) -> Raw:
    """The customers owing most (``GET /v1/reports/debtors``, up to 100), most first."""

    def view(session: BrowserSession, _: dict[str, str]) -> Raw:
        from billing.reports.query import ReportQuery

        query = ReportQuery.from_params({"currency": _currency(call, session), "limit": "100"})
        debtors = services.reports().debtors(session.scope, query)
        return _render(call, session, "dashboard/debtors.html", "debtors", debtors=debtors)

    return _signed_in(call, view)


@route("/dashboard/customers", auth=False, query=QUERY)
def dashboard_customers(call: Call) -> Raw:
    from billing.customers.model import CustomerQuery
    from billing.dashboard.tables import customer_row

    return _list(call, "customers", lambda scope, q: services.customers().list(scope, CustomerQuery.from_params(q)),
                 customer_row)  # fmt: skip


@route("/dashboard/subscriptions", auth=False, query=QUERY)
def dashboard_subscriptions(call: Call) -> Raw:
    from billing.dashboard.tables import subscription_row
    from billing.subscriptions.service import SubscriptionQuery

    query = SubscriptionQuery.from_params
    return _list(call, "subscriptions", lambda scope, q: services.subscriptions().list(scope, query(q)),
                 subscription_row)  # fmt: skip


@route("/dashboard/invoices", auth=False, query=QUERY)
def dashboard_invoices(call: Call) -> Raw:
    from billing.dashboard.tables import invoice_row
    from billing.invoicing.model import InvoiceQuery

    return _list(call, "invoices", lambda scope, q: services.invoices().list(scope, InvoiceQuery.from_params(q)),
                 invoice_row)  # fmt: skip


@route("/dashboard/payments", auth=False, query=QUERY)
def dashboard_payments(call: Call) -> Raw:
    from billing.dashboard.tables import payment_row
    from billing.payments.model import PaymentQuery

    return _list(call, "payments", lambda scope, q: services.payments().list(scope, PaymentQuery.from_params(q)),
                 payment_row)  # fmt: skip


@route("/dashboard/search", auth=False, query=QUERY)
def dashboard_search(call: Call) -> Raw:
    from billing.dashboard.search import target

    return _signed_in(call, lambda session, _: browser.redirect(target(call.query.get("q", ""))))


@route("/dashboard/customers/{customer_id}", auth=False, query=QUERY)
def dashboard_customer(call: Call) -> Raw:
    """The customer, what it owes and holds, its latest subscriptions, invoices and payments."""

    def view(session: BrowserSession, _: dict[str, str]) -> Raw:
        from billing.dashboard.customer import customer_page

        shown = customer_page(services.customers(), services.subscriptions(), services.invoices(),
                              services.payments(), session.scope, call.params["customer_id"])  # fmt: skip
        return _render(call, session, "dashboard/customer.html", "customers", shown=shown)

    return _signed_in(call, view)


@route("/dashboard/subscriptions/{subscription_id}", auth=False, query=QUERY)
def dashboard_subscription(call: Call) -> Raw:
    return _detail(call, "subscription", lambda scope, found: services.subscriptions().get(scope, found))


@route("/dashboard/invoices/{invoice_id}", auth=False, query=QUERY)
def dashboard_invoice(call: Call) -> Raw:
    return _detail(call, "invoice", lambda scope, found: services.invoices().get(scope, found))


@route("/dashboard/payments/{payment_id}", auth=False, query=QUERY)
def dashboard_payment(call: Call) -> Raw:
    return _detail(call, "payment", lambda scope, found: services.payments().get(scope, found))


@route("/dashboard/customers/{customer_id}/portal_link", methods=("POST",), auth=False, query=QUERY)
def dashboard_portal_link(call: Call) -> Raw:
    """A portal link for the customer, shown once to hand on (it opens once, within minutes)."""

    def create(session: BrowserSession, _: dict[str, str]) -> Raw:
        from billing.browser_sessions import PortalSessionCreate
        from billing.validation import parse

        customer_id = call.params["customer_id"]
        asked = parse(PortalSessionCreate, {"customer": customer_id})
        link = services.browser_sessions().portal_link(session.scope, asked)
        return _render(call, session, "dashboard/link.html", "customers", kind="portal", url=link.url,
                       back=f"/dashboard/customers/{customer_id}", expires_at=link.expires_at)  # fmt: skip

    return _signed_in(call, create)


@route("/dashboard/invoices/{invoice_id}/checkout_link", methods=("POST",), auth=False, query=QUERY)
def dashboard_checkout_link(call: Call) -> Raw:
    def create(session: BrowserSession, _: dict[str, str]) -> Raw:
        from billing.payments.checkout import CheckoutSessionCreate
        from billing.validation import parse

        sessions, invoice_id = services.checkout_sessions(), call.params["invoice_id"]
        checkout, _status = sessions.create(session.scope, parse(CheckoutSessionCreate, {"invoice": invoice_id}))
        url = sessions.url(checkout) or browser.link(f"/pay/{checkout.token}")
        return _render(call, session, "dashboard/link.html", "invoices", kind="checkout", url=url,
                       back=f"/dashboard/invoices/{invoice_id}", expires_at=checkout.expires_at)  # fmt: skip

    return _signed_in(call, create)


@route("/dashboard/invoices/{invoice_id}/credit_notes", methods=("POST",), auth=False, query=QUERY)
def dashboard_credit_note(call: Call) -> Raw:
    from billing.dashboard.forms import credit_note

    invoice_id = call.params["invoice_id"]
    create = lambda session, fields: services.credit_notes().create(session.scope, credit_note(invoice_id, fields))  # noqa: E731
    return _action(call, f"credit_note:{invoice_id}", f"/dashboard/invoices/{invoice_id}", create)


@route("/dashboard/customers/{customer_id}/payments", methods=("POST",), auth=False, query=QUERY)
def dashboard_offline_payment(call: Call) -> Raw:
    from billing.dashboard.forms import offline_payment

    customer_id = call.params["customer_id"]
    record = lambda session, fields: services.payments().record(session.scope, offline_payment(customer_id, fields))  # noqa: E731
    return _action(call, f"payment:{customer_id}", f"/dashboard/customers/{customer_id}", record)


def _action(call: Call, action: str, done: str, act: Callable[[BrowserSession, dict[str, str]], object]) -> Raw:
    """A form's action, run once per form shown (``browser.once``), then back to ``done``."""

    def run(session: BrowserSession, fields: dict[str, str]) -> Raw:
        browser.once(session, fields, action, lambda: act(session, fields))
        return browser.redirect(done)

    return _signed_in(call, run)


def _currency(call: Call, session: BrowserSession) -> str:
    from billing.dashboard.overview import currency_of
    from billing.invoicing.model import InvoiceQuery

    def latest() -> str | None:
        found = services.invoices().list(session.scope, InvoiceQuery.from_params({"limit": "1"})).data
        return found[0].currency if found else None

    return currency_of(call.query.get("currency"), latest)


def _signed_in(call: Call, view: browser.SessionView[Raw]) -> Raw:
    return browser.signed_in(call, "dashboard", view, lambda: browser.redirect("/dashboard/sign-in"))


def _detail(call: Call, kind: str, get: Callable[[Any, str], Any]) -> Raw:
    """An object's page: ``dashboard/{kind}.html`` with the object the path names (404 when the
    session's scope has none)."""

    def view(session: BrowserSession, _: dict[str, str]) -> Raw:
        found = get(session.scope, call.params[f"{kind}_id"])
        return _render(call, session, f"dashboard/{kind}.html", f"{kind}s", **{kind: found})

    return _signed_in(call, view)


def _list(call: Call, kind: str, listed: Callable[[Any, dict[str, str]], Any], row: Callable[[Any], Any]) -> Raw:
    """A list page: the API's list with the request's filters, as a table."""

    def view(session: BrowserSession, _: dict[str, str]) -> Raw:
        from billing.dashboard.tables import params, table

        page = listed(session.scope, params(kind, call.query))
        return _render(call, session, "dashboard/list.html", kind, table=table(kind, page, row, call.query))

    return _signed_in(call, view)


def _render(call: Call, session: BrowserSession, template: str, section: str, **context: Any) -> Raw:
    return browser.render(call, session, template, section=section, **context)


def _cross_site(call: Call) -> bool:
    from urllib.parse import urlparse

    site = call.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = call.headers.get("origin")
    ours = urlparse(browser.link("/") if "://" in browser.link("/") else "")
    return origin is not None and bool(ours.netloc) and origin != f"{ours.scheme}://{ours.netloc}"


def _sign_in_form(call: Call, status: int, refused: bool = False) -> Raw:
    from billing import pages

    body = pages.render("dashboard/sign_in.html", browser.language(call), link=browser.link, refused=refused)
    return browser.page(body, status)
