"""What the portal's views share: the signed-in wrapper, the page in the session's language
with the layout's context, and a form refused shown again (``billing.portal`` computes what
each page shows; ``chalicelib.browser`` keeps the session)."""

from __future__ import annotations

from typing import Any

from billing.browser_sessions import BrowserSession
from chalicelib import browser
from chalicelib.http import Call, Raw

DONE = frozenset({"plan_changed", "reading_saved", "preferences_saved"})
"""``?done=`` after an action: the note the page shows (only these; anything else is ignored)."""


def signed_in(call: Call, view: browser.SessionView[browser.Answer]) -> browser.Answer | Raw:
    """``view(session, form)`` for the portal session of the request's cookie; a 401 page
    without one, a 400 page for a form without the session's form token, a refusal as a page
    with the status the API gives it (404 for what is not the customer's)."""
    ended = lambda: browser.message(call, 401, "session_ended", "link_expired_text")  # noqa: E731
    return browser.signed_in(call, "portal", view, ended)


def render(call: Call, session: BrowserSession, template: str, status: int = 200, **context: Any) -> Raw:
    """``template`` for the session's customer (``browser.render``); ``context`` is the page's
    own (``billing.portal`` values), beside what the portal's layout needs."""
    from billing.adapters.services import portal
    from billing.decimals import plain

    customer = context.pop("customer", None) or portal().customer(session.scope, session.subject)
    done = call.query.get("done")
    context = {"errors": None, "typed": {}} | context
    return browser.render(call, session, template, status, customer=customer, return_url=session.return_url,
                          qty=plain, done=done if done in DONE else None, **context)  # fmt: skip


def refused_again(call: Call, session: BrowserSession, template: str, refused: Any, **context: Any) -> Raw:
    """The form's page again, with what was typed and why it was refused (``forms.Refused``)."""
    return render(call, session, template, refused.errors.status, errors=refused.errors, typed=refused.typed,
                  **context)  # fmt: skip
