"""Portal links and browser sessions: once, short-lived, bound to one kind, scope and subject."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from billing.browser_sessions import BrowserSession, BrowserSessions, PortalSessionCreate, digest
from billing.customers import Customer
from billing.errors import NotFound, Unauthenticated
from billing.scope import Scope
from billing.tenants import ApiKey

SCOPE = Scope(tenant_id="ten_a", livemode=False)


@dataclass
class Clock:
    at: datetime = datetime(2026, 12, 1, 12, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@dataclass
class Memory:
    links: dict[str, BrowserSession] = field(default_factory=dict)
    sessions: dict[str, BrowserSession] = field(default_factory=dict)

    def put(self, key: str, session: BrowserSession, link: bool) -> None:
        (self.links if link else self.sessions)[key] = session

    def take_link(self, key: str) -> BrowserSession | None:
        return self.links.pop(key, None)

    def get(self, key: str) -> BrowserSession | None:
        return self.sessions.get(key)

    def delete(self, key: str) -> None:
        self.sessions.pop(key, None)


def customer_of(scope: Scope, ref: str) -> Customer | None:
    if ref != "cus_1":
        return None
    return Customer(id="cus_1", livemode=False, name="Jane", created_at=datetime(2026, 1, 1, tzinfo=UTC))


KEY = ApiKey(id="key_1", tenant_id="ten_a", livemode=False, digest="d", last4="good", created_at=datetime.now(UTC))
REVOKED: set[str] = set()


def authenticate(header: str) -> ApiKey:
    if header != "Bearer sk_test_good":
        raise Unauthenticated("The API key is not valid.")
    return KEY


def key_active(tenant_id: str, key_id: str) -> bool:
    return (tenant_id, key_id) == ("ten_a", "key_1") and key_id not in REVOKED


def sessions() -> tuple[BrowserSessions, Memory, Clock]:
    memory, clock = Memory(), Clock()
    service = BrowserSessions(memory, customer_of, authenticate, key_active, "http://127.0.0.1:3000", clock)
    return service, memory, clock


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_a_link_is_stored_as_a_digest_and_opens_once() -> None:
    service, memory, _ = sessions()
    link = service.portal_link(SCOPE, PortalSessionCreate(customer="cus_1"))
    token = token_of(link.url)
    assert list(memory.links) == [digest(token)] and token not in str(memory.links)
    cookie, session = service.open_link(token)
    assert (session.kind, session.scope, session.subject) == ("portal", SCOPE, "cus_1")
    assert service.session("portal", cookie) == session
    assert service.session("dashboard", cookie) is None  # a portal cookie opens no dashboard
    with pytest.raises(NotFound):
        service.open_link(token)


def test_links_and_sessions_expire() -> None:
    service, _, clock = sessions()
    late = token_of(service.portal_link(SCOPE, PortalSessionCreate(customer="cus_1")).url)
    cookie, _ = service.open_link(token_of(service.portal_link(SCOPE, PortalSessionCreate(customer="cus_1")).url))
    clock.at += timedelta(minutes=10)
    with pytest.raises(NotFound):
        service.open_link(late)
    assert service.session("portal", cookie) is not None
    clock.at += timedelta(minutes=50)
    assert service.session("portal", cookie) is None


def test_forms_need_the_session_token_and_sign_in_needs_a_good_key() -> None:
    service, _, _ = sessions()
    cookie, session = service.sign_in("sk_test_good")
    assert session.kind == "dashboard" and service.session("dashboard", cookie) == session
    assert session.accepts(session.form_token) and not session.accepts("") and not session.accepts("x")
    with pytest.raises(Unauthenticated):
        service.sign_in("sk_test_bad")
    assert session.subject == "key_1" and not session.accepts("é")  # a non-ASCII token is refused, not an error
    service.sign_out(cookie)
    assert service.session("dashboard", cookie) is None


def test_a_dashboard_session_ends_when_its_key_is_revoked() -> None:
    service, _, _ = sessions()
    cookie, _ = service.sign_in("sk_test_good")
    REVOKED.add("key_1")
    try:
        assert service.session("dashboard", cookie) is None
    finally:
        REVOKED.discard("key_1")


def test_a_link_names_an_existing_customer() -> None:
    service, _, _ = sessions()
    with pytest.raises(NotFound):
        service.portal_link(SCOPE, PortalSessionCreate(customer="cus_2"))
