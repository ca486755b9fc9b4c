"""Browser sessions of the pages that show one party its own data: the customer portal
(``/portal``) and the operator dashboard (``/dashboard``).

- **Portal links.** ``POST /v1/portal_sessions`` gives a tenant a one-time link for one of its
  customers: 256 random bits (``secrets.token_urlsafe``), valid ``LINK_LIFETIME``, stored only
  as its SHA-256 digest. Opening it takes the link away (a conditional delete: a second
  opening, even at the same instant, finds nothing) and starts a session.
- **Dashboard sign-in.** The tenant's staff post an API key to ``/dashboard/sign-in``; a valid
  key starts a session in the key's tenant and mode. The key is never kept by the browser;
  the session keeps the key's id and ends as soon as the key is revoked.
- **Sessions.** A session's token (256 bits) is the cookie's value; the server keeps the
  session under the token's digest with its expiry (``SESSION_LIFETIME``, absolute: signing
  in again is cheap, a stolen cookie is worth less) and a form token every form posts back
  (CSRF; the cookie is also ``SameSite=Lax``). What a session reaches is fixed when it starts:
  its kind, its scope (tenant and mode) and, for the portal, its customer. Pages take these
  from the session, never from the request, so no address reaches another customer's data.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

from pydantic import AfterValidator, Field

from billing.clock import Clock, SystemClock, to_wire
from billing.errors import Conflict, InvalidRequest, NotFound
from billing.scope import Scope
from billing.validation import Input

if TYPE_CHECKING:
    from billing.customers import Customer  # loaded with the customers' service, not at cold start
    from billing.tenants import ApiKey

Kind = Literal["portal", "dashboard"]
Locale = Literal["en", "ru"]
LINK_LIFETIME = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(hours=1)
TOKEN_BYTES = 32


def _return_url(value: str) -> str:
    if not value.startswith(("https://", "http://")) or any(ch.isspace() for ch in value):
        raise ValueError("must be an absolute http(s) URL")
    return value


class PortalSessionCreate(Input):
    """``POST /v1/portal_sessions``: the customer (an id or external id), where the portal's
    "back" link leads, and the portal's language (else the browser's)."""

    customer: Annotated[str, Field(min_length=1, max_length=100)]
    return_url: Annotated[str, Field(max_length=2000), AfterValidator(_return_url)] | None = None
    locale: Locale | None = None


@dataclass(frozen=True)
class BrowserSession:
    """What a session (or a link not opened yet) reaches: one ``kind`` of page, one scope and,
    for the portal, one customer (``subject``; the dashboard's is the id of the API key it was
    opened with)."""

    kind: Kind
    scope: Scope
    subject: str
    expires_at: datetime
    form_token: str = ""
    locale: Locale | None = None
    return_url: str | None = None

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def accepts(self, form_token: str) -> bool:
        """Whether a posted form carries this session's form token (compared in constant time)."""
        return bool(self.form_token) and hmac.compare_digest(self.form_token.encode(), form_token.encode())


@dataclass(frozen=True)
class PortalLink:
    url: str
    customer: str
    livemode: bool
    expires_at: datetime
    return_url: str | None
    locale: str | None

    def to_public(self) -> dict[str, Any]:
        return {
            "object": "portal_session", "url": self.url, "customer": self.customer, "livemode": self.livemode,
            "expires_at": to_wire(self.expires_at), "return_url": self.return_url, "locale": self.locale,
        }  # fmt: skip


def digest(token: str) -> str:
    """What links and sessions are stored under: a token is never kept."""
    return hashlib.sha256(token.encode()).hexdigest()


class BrowserSessionRepository(Protocol):
    def put(self, digest: str, session: BrowserSession, link: bool) -> None:
        """Keep a session (or, ``link``, a link not opened yet) under ``digest`` until it expires."""

    def take_link(self, digest: str) -> BrowserSession | None:
        """Delete the link under ``digest`` and return it; None when there is none (used)."""

    def get(self, digest: str) -> BrowserSession | None: ...

    def delete(self, digest: str) -> None: ...


class BrowserSessions:
    def __init__(
        self,
        repo: BrowserSessionRepository,
        customer_of: Callable[[Scope, str], Customer | None],
        authenticate: Callable[[str], ApiKey],
        key_active: Callable[[str, str], bool],
        base_url: str | None,
        clock: Clock | None = None,
    ):
        self._repo, self._customer_of, self._authenticate = repo, customer_of, authenticate
        self._key_active = key_active
        self._base_url, self._clock = base_url or "", clock or SystemClock()

    def portal_link(self, scope: Scope, data: PortalSessionCreate) -> PortalLink:
        """A one-time link to ``data.customer``'s portal; 404 for no such customer, 409 for an
        archived one."""
        customer = self._customer_of(scope, data.customer)
        if customer is None:
            raise NotFound(f"No such customer: {data.customer}", param="customer")
        if customer.status == "archived":
            raise Conflict("The customer is archived.", code="customer_archived", param="customer")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        expires_at = self._clock.now() + LINK_LIFETIME
        link = BrowserSession("portal", scope, customer.id, expires_at, locale=data.locale, return_url=data.return_url)
        self._repo.put(digest(token), link, link=True)
        url = f"{self._base_url}/portal/start/{token}"
        return PortalLink(url, customer.id, scope.livemode, expires_at, data.return_url, data.locale)

    def open_link(self, token: str) -> tuple[str, BrowserSession]:
        """The session a portal link starts (its token and itself); the link is gone after
        this. 404 for a link that never was, was used or expired."""
        link = self._repo.take_link(digest(token)) if token else None
        if link is None or link.expired(self._clock.now()):
            raise NotFound("This link has expired or was already used.", code="link_expired")
        return self._start(link)

    def sign_in(self, api_key: str) -> tuple[str, BrowserSession]:
        """A dashboard session for the tenant and mode of ``api_key``; 401 for a bad key."""
        key = self._authenticate(f"Bearer {api_key.strip()}")
        scope = Scope(tenant_id=key.tenant_id, livemode=key.livemode)
        return self._start(BrowserSession("dashboard", scope, key.id, self._clock.now()))

    def session(self, kind: Kind, token: str | None) -> BrowserSession | None:
        """The live session of ``kind`` the cookie ``token`` names, else None."""
        if not token:
            return None
        found = self._repo.get(digest(token))
        if found is None or found.kind != kind or found.expired(self._clock.now()):
            return None
        if kind == "dashboard" and not self._key_active(found.scope.tenant_id, found.subject):
            return None  # the key it was opened with has been revoked
        return found

    def set_locale(self, token: str, locale: Locale) -> None:
        """The language of the session's pages from now on (the customer chose another)."""
        found = self._repo.get(digest(token)) if token else None
        if found is not None:
            self._repo.put(digest(token), replace(found, locale=locale), link=False)

    def sign_out(self, token: str) -> None:
        self._repo.delete(digest(token))

    def _start(self, grant: BrowserSession) -> tuple[str, BrowserSession]:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        started = replace(grant, expires_at=self._clock.now() + SESSION_LIFETIME,
                          form_token=secrets.token_urlsafe(TOKEN_BYTES))  # fmt: skip
        self._repo.put(digest(token), started, link=False)
        return token, started


def require_form(session: BrowserSession, form_token: str) -> None:
    """A 400 for a form posted without this session's form token (forged, or from a page of a
    session that ended)."""
    if not session.accepts(form_token):
        raise InvalidRequest("The form has expired; reload the page and try again.", code="form_expired",
                             param="form_token")  # fmt: skip
