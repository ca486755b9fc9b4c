"""The hosted checkout's pages: ``/pay/<token>`` (what is due, a form per method), the form
posts that send the customer to the provider, and the return page (the state from our
records). Public routes (no API key: the token in the path is the capability), answered as
HTML, never as the JSON error envelope; every form is a plain ``<form method="post">``.

The use cases are ``billing.payments.hosted``; these views parse, call one, and render
(``billing.pages``). Jinja2 and the money formatting load on the first page, not at cold start.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

from billing.adapters.services import hosted_checkout
from billing.errors import BillingError, Conflict, NotFound
from billing.settings import get_settings
from chalicelib.http import Call, Raw, route

QUERY = None
"""Pages read ``?lang=`` (``ru``: the page in Russian whatever the browser asks) and ignore any
other query parameter (a provider or a mail client may add its own): never a JSON refusal."""


@route("/pay/{token}", auth=False, query=QUERY)
def checkout_page(call: Call) -> Raw:
    return _page(call, lambda language: _render("pay.html", call, language))


@route("/pay/{token}/return", auth=False, query=QUERY)
def checkout_return(call: Call) -> Raw:
    return _page(call, lambda language: _render("return.html", call, language))


@route("/pay/{token}/{method}", methods=("POST",), auth=False, query=QUERY)
def checkout_pay(call: Call) -> Raw:
    """Start paying with the method posted; 303 to the provider's hosted page."""
    form = parse_qs(call.raw_body.decode(errors="replace"))
    form_token = (form.get("form_token") or [""])[0]
    save_card = (form.get("save_card") or [""])[0] == "1"  # the card form's box, sent only when checked

    def pay(language: str) -> Raw:
        try:
            target = hosted_checkout().pay(call.params["token"], call.params["method"], form_token, save_card)
        except Conflict:  # nothing to pay any more (paid meanwhile, expired): the page says why
            target = _link(call.params["token"])
        return Raw(303, "", {"Location": target, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    return _page(call, pay)


def _page(call: Call, build: Callable[[str], Raw]) -> Raw:
    """``build`` the answer in the caller's language; a refusal as a page of its own."""
    from billing import pages

    language = pages.language(call.query.get("lang"), call.headers.get("accept-language", ""))
    try:
        return build(language)
    except Exception as refused:
        from billing.payments.providers import ProviderError

        if not isinstance(refused, BillingError | ProviderError):
            raise
        return _refusal(refused, language)


def _render(template: str, call: Call, language: str) -> Raw:
    from billing import pages

    view = hosted_checkout().view(call.params["token"])
    body = pages.checkout(template, view, _link(call.params["token"]), language)
    return Raw(200, body, pages.headers(local=_link("").startswith("http://")))


def _refusal(refused: Exception, language: str) -> Raw:
    """404 for a link that does not exist, 503 when the tenant has no provider account
    (``ProviderNotConfigured``), 502 when the provider failed, 400 for a stale or forged form."""
    from billing import pages
    from billing.pages.strings import STRINGS

    words = STRINGS[language]
    if isinstance(refused, NotFound):
        status, heading, message = 404, words["not_found"], ""
    elif not isinstance(refused, BillingError) or refused.status == 503:
        status, heading, message = 503 if isinstance(refused, BillingError) else 502, words["error"], words["try_again"]
    else:
        status, heading = 400, words["error"]
        message = refused.message if isinstance(refused, BillingError) else words["try_again"]
    body = pages.render("message.html", language, heading=heading, message=message)
    return Raw(status, body, pages.headers(local=_link("").startswith("http://")))


def _link(token: str) -> str:
    """The page's own address, on ``PUBLIC_BASE_URL`` (a path prefix such as an API stage
    included), else from the root."""
    return f"{get_settings().public_base_url or ''}/pay/{token}"
