"""What the portal's views share: the signed-in wrapper, the page in the session's language
with the layout's context, and a form refused shown again (``billing.portal`` computes what
each page shows; ``chalicelib.browser`` keeps the session)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from billing.browser_sessions import BrowserSession
from chalicelib import browser
from chalicelib.http import Call, Document, Raw

PortalView = Callable[[BrowserSession, dict[str, str]], Raw]
DONE = frozenset({"plan_changed", "reading_saved", "preferences_saved"})
"""``?done=`` after an action: the note the page shows (only these; anything else is ignored)."""


def signed_in(call: Call, view: PortalView) -> Raw:
    """``view(session, form)`` for the portal session of the request's cookie; a 401 page
    without one, a 400 page for a form without the session's form token, a refusal as a page
    with the status the API gives it (404 for what is not the customer's)."""
    ended = lambda: browser.message(call, 401, "session_ended", "link_expired_text")  # noqa: E731
    return browser.signed_in(call, "portal", view, ended)


def document(call: Call, fetch: Callable[[BrowserSession], Document]) -> Raw | Document:
    """A file of the session's (a PDF) rather than a page; a page when refused."""
    sent: list[Document] = []

    def view(session: BrowserSession, _: dict[str, str]) -> Raw:
        sent.append(fetch(session))
        return Raw(200, "", {})

    answer = signed_in(call, view)
    return sent[0] if sent else answer


def render(call: Call, session: BrowserSession, template: str, status: int = 200, **context: Any) -> Raw:
    """``template`` for the session's customer, in the session's language; ``context`` is the
    page's own (``billing.portal`` values), beside what the layout needs."""
    from billing import pages
    from billing.adapters.services import business_name, portal
    from billing.decimals import plain
    from billing.money import format_amount

    language = browser.language(call, session.locale)
    customer = context.pop("customer", None) or portal().customer(session.scope, session.subject)
    done = call.query.get("done")
    context = {"errors": None, "typed": {}} | context
    body = pages.render(
        template, language, business=business_name(session.scope), customer=customer, form_token=session.form_token,
        link=browser.link, return_url=session.return_url, money=format_amount, qty=plain,
        done=done if done in DONE else None, livemode=session.scope.livemode, **context,
    )  # fmt: skip
    return browser.page(body, status)


def refused_again(call: Call, session: BrowserSession, template: str, refused: Any, **context: Any) -> Raw:
    """The form's page again, with what was typed and why it was refused (``forms.Refused``)."""
    return render(call, session, template, refused.errors.status, errors=refused.errors, typed=refused.typed,
                  **context)  # fmt: skip
