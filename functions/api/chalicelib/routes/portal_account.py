"""The customer portal's account pages: usage, the plan (a change previewed, then confirmed),
meter readings and preferences (``portal`` has the overview, invoices and payments).

Every action is a plain form posting the session's ``form_token``; one the core refuses shows
its page again with the refusal next to the field (``billing.portal.forms``), one it takes
redirects (303) to its page with ``?done=``, so reloading never posts again.
"""

from __future__ import annotations

from billing.adapters.services import browser_sessions, portal
from billing.browser_sessions import BrowserSession
from billing.portal.forms import Refused
from chalicelib import browser
from chalicelib.http import Call, Raw, route
from chalicelib.portal_view import refused_again, render, signed_in

QUERY = None  # pages read ``?lang=`` (and ``done``) and ignore any other parameter


@route("/portal/usage", auth=False, query=QUERY)
def portal_usage(call: Call) -> Raw:
    def show(session: BrowserSession, _: dict[str, str]) -> Raw:
        from billing.portal.usage import usage_view

        return render(call, session, "portal/usage.html", usage=usage_view(portal(), session.scope, session.subject))

    return signed_in(call, show)


@route("/portal/plan", auth=False, query=QUERY)
def portal_plan(call: Call) -> Raw:
    def show(session: BrowserSession, _: dict[str, str]) -> Raw:
        return render(call, session, "portal/plan.html", plan=portal().plan(session.scope, session.subject))

    return signed_in(call, show)


@route("/portal/plan/preview", methods=("POST",), auth=False, query=QUERY)
def portal_plan_preview(call: Call) -> Raw:
    """What changing to the posted plan bills now, with the form that confirms it."""

    def preview(session: BrowserSession, form: dict[str, str]) -> Raw:
        shown = portal().preview_change(session.scope, session.subject, form.get("plan", ""))
        return render(call, session, "portal/plan_preview.html", preview=shown)

    return signed_in(call, preview)


@route("/portal/plan/change", methods=("POST",), auth=False, query=QUERY)
def portal_plan_change(call: Call) -> Raw:
    def change(session: BrowserSession, form: dict[str, str]) -> Raw:
        plan = form.get("plan", "")
        browser.once(session, form, "plan_change", lambda: portal().change_plan(session.scope, session.subject, plan))
        return browser.redirect("/portal/plan?done=plan_changed")

    return signed_in(call, change)


@route("/portal/readings", methods=("GET", "POST"), auth=False, query=QUERY)
def portal_readings(call: Call) -> Raw:
    """The meters with their last reading and history; a POST submits a reading."""
    from billing.portal.readings import readings_view, submit_reading

    def readings(session: BrowserSession, form: dict[str, str]) -> Raw:
        scope, customer = session.scope, session.subject
        if call.method == "POST":
            try:
                submit_reading(portal(), scope, customer, form)
            except Refused as refused:
                view = readings_view(portal(), scope, customer)
                return refused_again(call, session, "portal/readings.html", refused, readings=view)
            return browser.redirect("/portal/readings?done=reading_saved")
        return render(call, session, "portal/readings.html", readings=readings_view(portal(), scope, customer))

    return signed_in(call, readings)


@route("/portal/preferences", methods=("GET", "POST"), auth=False, query=QUERY)
def portal_preferences(call: Call) -> Raw:
    """Language, notification channels, email and phone; the session's pages follow the
    language chosen."""

    def preferences(session: BrowserSession, form: dict[str, str]) -> Raw:
        if call.method == "POST":
            try:
                customer = portal().update_preferences(session.scope, session.subject, form)
            except Refused as refused:
                return refused_again(call, session, "portal/preferences.html", refused)
            browser_sessions().set_locale(browser.cookie_of(call, "portal") or "", customer.locale)
            return browser.redirect("/portal/preferences?done=preferences_saved")
        return render(call, session, "portal/preferences.html")

    return signed_in(call, preferences)
