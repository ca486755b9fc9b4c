"""What the portal's and the dashboard's views share: the session cookie, posted forms, the
page answer and the redirect (``billing.browser_sessions`` keeps the sessions).

A session view (``signed_in``) finds the session its cookie names, of its own kind, and for a
POST checks the form token before anything runs; the view gets the session, whose scope and
subject are all it may read. Cookies are ``HttpOnly``, ``SameSite=Lax``, limited to their
pages' path, and ``Secure`` unless the platform is served over plain http (the local stack).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, urlparse

from billing.adapters import services
from billing.adapters.services import browser_sessions
from billing.browser_sessions import SESSION_LIFETIME, Kind, require_form
from billing.errors import BillingError
from billing.settings import get_settings
from chalicelib.http import STATUS, Call, Document, Raw

if TYPE_CHECKING:
    from billing.browser_sessions import BrowserSession

COOKIES: dict[Kind, str] = {"portal": "billing_portal", "dashboard": "billing_dashboard"}


def link(path: str) -> str:
    """``path`` on ``PUBLIC_BASE_URL`` (a stage prefix included), else from the root."""
    return f"{get_settings().public_base_url or ''}{path}"


def local() -> bool:
    """Served over plain http (the local stack): cookies without ``Secure``. No public address
    configured is not local: cookies stay ``Secure``."""
    return link("").startswith("http://")


def form(call: Call) -> dict[str, str]:
    """A posted ``application/x-www-form-urlencoded`` body, first value of each field."""
    fields = parse_qs(call.raw_body.decode(errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def cookie_of(call: Call, kind: Kind) -> str | None:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(call.headers.get("cookie", ""))
    except CookieError:
        return None
    morsel = jar.get(COOKIES[kind])
    return morsel.value if morsel else None


def set_cookie(kind: Kind, token: str) -> str:
    return _cookie(kind, token, int(SESSION_LIFETIME.total_seconds()))


def clear_cookie(kind: Kind) -> str:
    return _cookie(kind, "", 0)


def _cookie(kind: Kind, value: str, max_age: int) -> str:
    path = urlparse(link("")).path.rstrip("/") + f"/{kind}"
    secure = "" if local() else "; Secure"
    return f"{COOKIES[kind]}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"


def page(body: str, status: int = 200, cookie: str | None = None) -> Raw:
    from billing import pages

    headers = pages.headers(local=local(), providers=False)  # no form of the portal or dashboard leaves us
    if cookie is not None:
        headers["Set-Cookie"] = cookie
    return Raw(status, body, headers)


def redirect(location: str, cookie: str | None = None) -> Raw:
    """303 to ``location`` (a path of ours, or absolute)."""
    target = location if "://" in location else link(location)
    headers = {"Location": target, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    if cookie is not None:
        headers["Set-Cookie"] = cookie
    return Raw(303, "", headers)


def render(call: Call, session: BrowserSession, template: str, status: int = 200, **context: Any) -> Raw:
    """``template`` in the session's language, with what every layout reads (the business, the
    mode, the form token, links, amounts, a fresh ``nonce()`` per form) beside the page's own
    ``context``."""
    from billing import pages
    from billing.money import format_amount

    body = pages.render(
        template, language(call, session.locale), business=services.business_name(session.scope),
        livemode=session.scope.livemode, form_token=session.form_token, link=link, money=format_amount,
        nonce=lambda: secrets.token_urlsafe(16), **context,
    )  # fmt: skip
    return page(body, status)


ONCE_WAIT = timedelta(seconds=20)
"""How long a form's second post waits for its first to finish (then it is told to retry)."""
MAX_NONCE = 64


def once(session: BrowserSession, fields: dict[str, str], action: str, act: Callable[[], object]) -> None:
    """``act`` once per form shown: the form's ``nonce`` (a hidden field, new on every page) is
    the idempotency key, under the session's subject. A second post of the form (a double
    click, a reload of the answer, a browser resending a post whose connection it lost) is
    answered as the first, after waiting for it if it is still running. A refusal keeps
    nothing: the form may be sent again, corrected. A failure of ours is kept, as the API's
    are, so its twin never runs what may already be half done."""
    from billing.errors import BillingError, Conflict, InvalidRequest
    from billing.idempotency import StoredResponse, canonical, fingerprint
    from chalicelib.http import logger

    nonce = fields.get("nonce", "")
    if not 1 <= len(nonce) <= MAX_NONCE:
        raise InvalidRequest("The form has expired; reload the page and try again.", code="form_expired",
                             param="nonce")  # fmt: skip
    body = canonical({name: value for name, value in fields.items() if name != "form_token"})

    def run() -> StoredResponse:
        try:
            act()
        except BillingError as refused:
            if (refused.status or STATUS[refused.type]) < 500:
                raise  # nothing was done: the key is let go
            logger.exception("form action failed", action=action)
            return StoredResponse(status=500, body={})
        except Exception:
            logger.exception("form action failed", action=action)
            return StoredResponse(status=500, body={})
        return StoredResponse(status=303, body={})

    key, request = f"{session.kind}:{session.subject}:{nonce}", fingerprint("POST", action, body)
    try:
        answer = services.idempotency().run_waiting(session.scope, key, request, run, ONCE_WAIT)
    except Conflict as taken:
        if taken.code not in ("idempotency_key_reused", "idempotency_request_in_progress"):
            raise
        raise Conflict("This form was already sent; reload the page to send it again.",
                       code="form_already_sent") from None  # fmt: skip
    if answer.status != 303:
        raise BillingError("Something went wrong, and nothing was done twice. Reload the page to see where it stands.")


def language(call: Call, preferred: str | None = None) -> str:
    from billing import pages

    return pages.language(call.query.get("lang") or preferred, call.headers.get("accept-language", ""))


def message(call: Call, status: int, heading: str, text: str = "", language_: str | None = None) -> Raw:
    """A page that only says something: ``heading`` and ``text`` are keys of the pages' words."""
    from billing import pages
    from billing.pages.strings import STRINGS

    lang = language_ or language(call)
    words = STRINGS[lang]
    body = pages.render("message.html", lang, heading=words[heading], message=words[text] if text else "")
    return page(body, status)


Answer = TypeVar("Answer", Raw, Document, Raw | Document)
SessionView = Callable[["BrowserSession", dict[str, str]], Answer]


def signed_in(call: Call, kind: Kind, view: SessionView[Answer], signed_out: Callable[[], Raw]) -> Answer | Raw:
    """``view(session, form)`` (a page, or a file such as a PDF) for the live session of
    ``kind`` the request's cookie names, else ``signed_out()``. A POST must carry the
    session's form token (400 otherwise, nothing done)."""
    session = browser_sessions().session(kind, cookie_of(call, kind))
    if session is None:
        return signed_out()
    posted = form(call) if call.raw_body else {}
    try:
        if call.method == "POST":
            require_form(session, posted.get("form_token", ""))
        return view(session, posted)
    except BillingError as refused:
        from billing import pages

        lang = language(call, session.locale)
        body = pages.render("message.html", lang, heading=_words(lang)["error"], message=refused.message)
        return page(body, refused.status or STATUS[refused.type])


def _words(lang: str) -> dict[str, str]:
    from billing.pages.strings import STRINGS

    return STRINGS[lang]
