"""Server-rendered pages (the hosted checkout today; the portal next): Jinja2 templates with
autoescaping, one stylesheet, no script and nothing loaded from elsewhere.

Every value a template prints is escaped (tenant and customer names may hold ``<script>``);
nothing is marked safe but the stylesheet, which is ours. The stylesheet is inlined and
allowed by its SHA-256 in the Content-Security-Policy, so the policy needs neither
``'unsafe-inline'`` nor a second request. Jinja2 loads when the first page is rendered, not
with the API at cold start.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from billing.pages.strings import LANGUAGES, STRINGS

if TYPE_CHECKING:
    from jinja2 import Environment

    from billing.payments.hosted import PageView

HERE = Path(__file__).parent
STYLE = (HERE / "pages.css").read_text(encoding="utf-8")
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()


@lru_cache(maxsize=1)
def environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined, auto_reload=False
    )


def render(template: str, language: str, **context: Any) -> str:
    """``template`` in ``language`` (``t`` holds its strings), escaped throughout."""
    page = environment().get_template(template)
    return page.render(t=STRINGS[language], lang=language, style=STYLE, **context)


PROVIDER_NAMES = {"whitepay": "Whitepay", "coinbase_commerce": "Coinbase Commerce"}
REFRESH_S = 5  # a return page waiting for the provider's report asks again this often


def checkout(template: str, view: PageView, link: str, language: str) -> str:
    """The hosted checkout's ``pay.html`` or ``return.html`` for ``view``; ``link`` is the
    page's own address, which its forms post under."""
    from billing.money import format_amount

    return render(
        template, language, business=view.business_name, customer=view.customer_name, invoice=view.invoice,
        amount_due=view.amount_due, state=view.state, methods=view.methods, link=link,
        form_token=view.session.form_token, names=PROVIDER_NAMES, refresh_s=REFRESH_S,
        money=lambda amount: format_amount(amount, view.session.currency),
    )  # fmt: skip


def language(asked: str | None, accept_language: str) -> str:
    """``?lang=`` if it is one we have, else the first of the browser's languages we have
    (``Accept-Language``, in the order sent: browsers send them by preference), else English."""
    if asked in LANGUAGES:
        return asked
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"


def headers(local: bool, providers: bool = True) -> dict[str, str]:
    """A page's security headers. Forms post to us; on the hosted checkout (``providers``)
    paying redirects to the provider's hosted page, which ``form-action`` must also allow
    (browsers check redirects of a form post): any https origin, and plain http ones on a local
    stack only. The portal's and the dashboard's forms never leave us: ``'self'`` alone."""
    targets = "'self'" + ((" https:" + (" http:" if local else "")) if providers else "")
    policy = (
        f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; img-src 'self' data:; form-action {targets}; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }
