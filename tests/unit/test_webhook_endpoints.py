"""Outbound webhooks' use cases on in-memory stores: endpoints (secret shown once, sealed per
endpoint), the fan-out (one delivery per event and endpoint, however often the event comes) and
an attempt (signed, logged, retried on a schedule, never sent again once it succeeded)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from billing.errors import DomainRuleViolation, InvalidRequest, NotFound
from billing.pagination import PageRequest
from billing.scope import Scope
from billing.webhooks_out import retries, signing
from billing.webhooks_out.addresses import AddressPolicy
from billing.webhooks_out.delivery import Deliverer
from billing.webhooks_out.fanout import Fanout, body_of
from billing.webhooks_out.model import MAX_ENDPOINTS, DeliveryRef, EndpointCreate, EndpointUpdate, WebhookEndpoint
from billing.webhooks_out.ports import context
from billing.webhooks_out.service import WebhookEndpoints
from billing.webhooks_out.transport import Response, TransportError
from tests.unit.clock import FrozenClock
from tests.unit.fakes import FakeCipher, MemoryDeliveryQueue, MemoryWebhookDeliveries, MemoryWebhookEndpoints

TEST, LIVE = Scope("ten_a", livemode=False), Scope("ten_a", livemode=True)
URL = "https://erp.example.com/billing"


def event(type_: str = "InvoiceFinalized", scope: Scope = TEST, event_id: str = "evt_01") -> dict[str, Any]:
    return {"id": event_id, "type": type_, "tenant_id": scope.tenant_id, "livemode": scope.livemode,
            "occurred_at": "2026-01-15T12:00:00Z", "data": {"object": {"id": "inv_1", "total": 1250}}}  # fmt: skip


@dataclass
class Receiver:
    """The transport as the deliverer sees it: answers ``statuses`` in turn, or raises."""

    statuses: list[int | TransportError] = field(default_factory=lambda: [200])
    posts: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        self.posts.append((url, body, dict(headers)))
        answer = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if isinstance(answer, TransportError):
            raise answer
        return Response(answer, "93.184.216.34", 0, False)


class World:
    def __init__(self) -> None:
        self.clock, self.cipher = FrozenClock(), FakeCipher()
        self.repo, self.deliveries = MemoryWebhookEndpoints(), MemoryWebhookDeliveries()
        self.queue = MemoryDeliveryQueue()
        self.endpoints = WebhookEndpoints(
            self.repo, self.deliveries, self.queue, self.cipher, AddressPolicy(), self.clock
        )
        self.fanout = Fanout(self.repo, self.deliveries, self.queue, self.clock, ttl_s=0)
        self.receiver = Receiver()

        def secret_of(scope: Scope, endpoint: WebhookEndpoint) -> str:
            return self.cipher.decrypt(endpoint.sealed, context(scope, endpoint.id)).decode()

        self.deliverer = Deliverer(self.deliveries, self.repo, secret_of, self.receiver, self.clock)

    def endpoint(self, events: list[str] | None = None, scope: Scope = TEST) -> tuple[WebhookEndpoint, str]:
        return self.endpoints.create(scope, EndpointCreate(url=URL, enabled_events=events or ["*"]))

    def deliver_all(self, attempt: int = 1) -> list[Any]:
        sent, self.queue.sent = self.queue.sent, []
        return [self.deliverer.deliver(ref, attempt) for ref in sent]


@pytest.fixture
def world() -> World:
    return World()


def test_the_secret_is_shown_once_and_stored_sealed_for_that_endpoint_only(world: World) -> None:
    endpoint, secret = world.endpoint(["InvoiceFinalized", "InvoiceFinalized", "PaymentSucceeded"])
    assert secret.startswith("whsec_") and secret.encode() not in endpoint.sealed
    assert endpoint.enabled_events == ("InvoiceFinalized", "PaymentSucceeded")
    assert "secret" not in endpoint.to_public() and secret not in str(endpoint)
    assert world.cipher.decrypt(endpoint.sealed, context(TEST, endpoint.id)).decode() == secret
    with pytest.raises(PermissionError):  # copied to another endpoint or mode, it does not open
        world.cipher.decrypt(endpoint.sealed, context(LIVE, endpoint.id))
    other, _ = world.endpoint()
    with pytest.raises(PermissionError):
        world.cipher.decrypt(endpoint.sealed, context(TEST, other.id))


def test_endpoints_are_per_mode_and_bounded(world: World) -> None:
    endpoint, _ = world.endpoint()
    assert world.endpoints.list(LIVE) == []
    with pytest.raises(NotFound):
        world.endpoints.get(LIVE, endpoint.id)
    for _ in range(MAX_ENDPOINTS - 1):
        world.endpoint()
    with pytest.raises(DomainRuleViolation) as full:
        world.endpoint()
    assert full.value.code == "too_many_endpoints"


@pytest.mark.parametrize("url", ["http://erp.example.com/", "https://10.0.0.1/", "https://169.254.169.254/"])
def test_a_url_the_platform_must_not_call_is_refused_and_nothing_is_written(world: World, url: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        world.endpoints.create(TEST, EndpointCreate(url=url, enabled_events=["*"]))
    assert refused.value.param == "url" and world.repo.items == {}


def test_event_types_are_names_or_a_star() -> None:
    for bad in ([], ["invoice.finalized"], ["*", "x y"]):
        with pytest.raises(ValueError, match="event type"):
            EndpointCreate(url=URL, enabled_events=bad)


def test_a_patch_changes_what_it_names_and_disabling_stops_deliveries(world: World) -> None:
    endpoint, _ = world.endpoint(["InvoiceFinalized"])
    changed = world.endpoints.update(TEST, endpoint.id, EndpointUpdate(enabled_events=["PaymentSucceeded"]))
    assert (changed.url, changed.enabled_events, changed.revision) == (URL, ("PaymentSucceeded",), 2)
    assert world.fanout.fan_out(event("InvoiceFinalized")) == []
    assert len(world.fanout.fan_out(event("PaymentSucceeded"))) == 1
    disabled = world.endpoints.update(TEST, endpoint.id, EndpointUpdate(disabled=True))
    assert disabled.to_public()["status"] == "disabled"
    assert world.fanout.fan_out(event("PaymentSucceeded", event_id="evt_02")) == []
    (outcome,) = world.deliver_all()  # queued before it was disabled: canceled, not sent
    assert outcome.status == "canceled" and world.receiver.posts == []
    with pytest.raises(DomainRuleViolation):
        world.endpoints.test(TEST, endpoint.id)
    with pytest.raises(InvalidRequest):
        world.endpoints.update(TEST, endpoint.id, EndpointUpdate(url="https://127.0.0.1/"))


def test_an_event_makes_one_delivery_per_endpoint_however_often_it_comes(world: World) -> None:
    first, _ = world.endpoint(["*"])
    second, _ = world.endpoint(["InvoiceFinalized"])
    world.endpoint(["PaymentSucceeded"])
    world.endpoint(["*"], scope=LIVE)  # the other mode's: not this event's
    queued = world.fanout.fan_out(event())
    assert sorted(d.endpoint_id for d in queued) == sorted([first.id, second.id])
    assert world.fanout.fan_out(event()) != []  # not tried yet: queued again (a lost send)
    world.deliver_all()
    assert world.fanout.fan_out(event()) == []  # delivered: the same event makes nothing new
    assert len(world.deliveries.items) == 2 and len(world.receiver.posts) == 2


def test_a_delivery_is_signed_with_the_endpoints_secret_over_the_exact_body(world: World) -> None:
    endpoint, secret = world.endpoint()
    world.fanout.fan_out(event())
    (outcome,) = world.deliver_all()
    assert outcome.status == "succeeded" and outcome.retry_after is None
    ((url, body, headers),) = world.receiver.posts
    assert url == URL and body == body_of(event()) and headers["Content-Type"] == "application/json"
    now = int(world.clock.now().timestamp())
    assert signing.verify(headers["Billing-Signature"], body, secret, now=now)
    (logged,) = world.endpoints.deliveries(TEST, endpoint.id, PageRequest()).data
    assert (logged.status, logged.attempts, logged.event_id, logged.event_type) == (
        "succeeded", 1, "evt_01", "InvoiceFinalized")  # fmt: skip
    assert logged.last_attempt is not None and logged.last_attempt.response_status == 200
    assert world.deliverer.deliver(DeliveryRef("ten_a", False, endpoint.id, logged.id), 2).status is None
    assert len(world.receiver.posts) == 1  # a redelivered message sends nothing twice


def test_failures_are_retried_on_the_schedule_then_given_up(world: World) -> None:
    endpoint, _ = world.endpoint()
    world.receiver.statuses = [500]
    (delivery,) = world.fanout.fan_out(event())
    ref = DeliveryRef("ten_a", False, endpoint.id, delivery.id)
    for attempt in range(1, retries.MAX_ATTEMPTS):
        outcome = world.deliverer.deliver(ref, attempt)
        assert (outcome.status, outcome.retry_after) == ("retrying", retries.SCHEDULE[attempt - 1])
        stored = world.deliveries.get(TEST, endpoint.id, delivery.id)
        assert stored is not None and stored.attempts == attempt
        assert stored.next_attempt_at == world.clock.now() + retries.SCHEDULE[attempt - 1]
        world.clock.advance(seconds=retries.SCHEDULE[attempt - 1].total_seconds())
    last = world.deliverer.deliver(ref, retries.MAX_ATTEMPTS)
    assert (last.status, last.retry_after) == ("failed", None)
    stored = world.deliveries.get(TEST, endpoint.id, delivery.id)
    assert stored is not None and stored.next_attempt_at is None and stored.attempts == retries.MAX_ATTEMPTS


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (302, "redirects are not followed"),
        (
            TransportError("10.0.0.1 is not a public address", "address_refused"),
            "address_refused: 10.0.0.1 is not a public address",
        ),
    ],
)
def test_a_redirect_or_a_refused_address_fails_the_attempt_and_says_why(
    world: World, answer: int | TransportError, error: str
) -> None:
    endpoint, _ = world.endpoint()
    world.receiver.statuses = [answer]
    world.fanout.fan_out(event())
    (outcome,) = world.deliver_all()
    assert outcome.status == "retrying" and outcome.retry_after == timedelta(minutes=1)
    (logged,) = world.endpoints.deliveries(TEST, endpoint.id, PageRequest()).data
    assert logged.last_attempt is not None and logged.last_attempt.error == error


def test_a_test_event_goes_to_that_endpoint_alone_through_the_same_path(world: World) -> None:
    endpoint, secret = world.endpoint(["PaymentSucceeded"])
    world.endpoint(["*"])
    delivery = world.endpoints.test(TEST, endpoint.id)
    assert delivery.to_public()["status"] == "pending" and delivery.event_type == "WebhookEndpointTested"
    (outcome,) = world.deliver_all()
    assert outcome.status == "succeeded"
    ((_, body, headers),) = world.receiver.posts
    assert signing.verify(headers["Billing-Signature"], body, secret, now=int(world.clock.now().timestamp()))
    assert b'"type":"WebhookEndpointTested"' in body and endpoint.id.encode() in body


def test_a_deleted_endpoint_gets_nothing_more(world: World) -> None:
    endpoint, _ = world.endpoint()
    world.fanout.fan_out(event())
    world.endpoints.delete(TEST, endpoint.id)
    (outcome,) = world.deliver_all()
    assert outcome.status == "canceled" and world.receiver.posts == []
    with pytest.raises(NotFound):
        world.endpoints.deliveries(TEST, endpoint.id, PageRequest())
