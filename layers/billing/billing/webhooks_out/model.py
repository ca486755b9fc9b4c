"""Webhook endpoints and their deliveries.

An endpoint belongs to one tenant and mode (a test key's endpoints get test-mode events only,
as in Stripe). It names a URL, the event types it wants (``enabled_events``: names from
``api_spec/events.yaml``, or ``*`` for every one) and holds its signing secret, sealed (KMS)
under a context naming tenant, mode and endpoint: the secret is shown once, when the endpoint is
created, and only the delivery function opens it again, to sign.

A delivery is one event for one endpoint. Its id is derived from the pair (``derived_id``), so
an event delivered to the fan-out twice makes one delivery, and its body is frozen when it is
made: every attempt sends the same bytes (with a fresh signature timestamp).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field, field_validator

from billing.clock import to_wire
from billing.ids import derived_id, new_id
from billing.validation import Input

ENDPOINT_PREFIX = "wh"
DELIVERY_PREFIX = "whd"
MAX_ENDPOINTS = 16  # per tenant and mode, as Stripe: each event costs a delivery per endpoint
MAX_URL_LENGTH = 2048
EVERY_EVENT = "*"
TEST_EVENT = "WebhookEndpointTested"  # what POST /v1/webhook_endpoints/{id}/test sends; no domain event
EVENT_NAME = re.compile(r"^[A-Z][A-Za-z]{2,63}$")
KEPT_FOR = timedelta(days=30)  # a delivery's record, then DynamoDB's TTL removes it

DeliveryStatus = Literal["pending", "succeeded", "retrying", "failed", "canceled"]
"""``pending`` (queued, not tried yet), ``succeeded`` (a 2xx answer), ``retrying`` (failed, tried
again at ``next_attempt_at``), ``failed`` (every attempt failed: the message went to the
dead-letter queue), ``canceled`` (the endpoint was disabled or deleted before it succeeded)."""


def _event_types(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("list at least one event type, or '*' for every one")
    for name in value:
        if name != EVERY_EVENT and not EVENT_NAME.match(name):
            raise ValueError(f"{name!r} is not an event type (e.g. 'InvoiceFinalized') nor '*'")
    return sorted(set(value))


class EndpointCreate(Input):
    """Body of ``POST /v1/webhook_endpoints``."""

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH)
    enabled_events: list[str] = Field(max_length=100)
    description: str | None = Field(default=None, max_length=500)

    check_events = field_validator("enabled_events")(_event_types)


class EndpointUpdate(Input):
    """Body of ``PATCH /v1/webhook_endpoints/{id}``: what is sent changes, the rest stays."""

    url: str | None = Field(default=None, min_length=1, max_length=MAX_URL_LENGTH)
    enabled_events: list[str] | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    disabled: bool | None = None

    @field_validator("enabled_events")
    @classmethod
    def check_events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _event_types(value)


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    url: str
    enabled_events: tuple[str, ...]
    enabled: bool
    created_at: datetime
    updated_at: datetime
    livemode: bool
    description: str | None = None
    revision: int = 1
    sealed: bytes = field(default=b"", repr=False)  # the signing secret, encrypted

    def wants(self, event_type: str) -> bool:
        """Whether an event of ``event_type`` goes to this endpoint now."""
        return self.enabled and (EVERY_EVENT in self.enabled_events or event_type in self.enabled_events)

    def changed(self, update: EndpointUpdate, url: str | None, at: datetime) -> WebhookEndpoint:
        """This endpoint with ``update`` applied (``url`` checked already), one revision on."""
        return replace(
            self,
            url=url or self.url,
            enabled_events=tuple(update.enabled_events) if update.enabled_events is not None else self.enabled_events,
            description=update.description if "description" in update.model_fields_set else self.description,
            enabled=not update.disabled if update.disabled is not None else self.enabled,
            updated_at=at,
            revision=self.revision + 1,
        )

    def to_public(self) -> dict[str, Any]:
        """What the API shows: never the secret (only ``create`` answers it, once)."""
        return {
            "object": "webhook_endpoint",
            "id": self.id,
            "url": self.url,
            "enabled_events": list(self.enabled_events),
            "description": self.description,
            "status": "enabled" if self.enabled else "disabled",
            "livemode": self.livemode,
            "created_at": to_wire(self.created_at),
            "updated_at": to_wire(self.updated_at),
        }


@dataclass(frozen=True)
class Attempt:
    """What the last attempt of a delivery got: an HTTP status, or an error before one."""

    at: datetime
    duration_ms: int
    response_status: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Delivery:
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    created_at: datetime
    status: DeliveryStatus = "pending"
    attempts: int = 0
    last_attempt: Attempt | None = None
    next_attempt_at: datetime | None = None
    body: bytes = field(default=b"", repr=False)  # the exact bytes every attempt POSTs

    @classmethod
    def of(cls, endpoint_id: str, envelope: dict[str, Any], body: bytes, at: datetime) -> Delivery:
        """The delivery of an event (its bus envelope) to an endpoint: one per pair, whatever
        the number of times the event arrives (the id is derived from both)."""
        occurred = datetime.fromisoformat(str(envelope["occurred_at"]).replace("Z", "+00:00"))
        delivery_id = derived_id(DELIVERY_PREFIX, int(occurred.timestamp() * 1000), f"{endpoint_id}#{envelope['id']}")
        return cls(delivery_id, endpoint_id, str(envelope["id"]), str(envelope["type"]), at, body=body)

    @classmethod
    def test(cls, endpoint: WebhookEndpoint, tenant_id: str, at: datetime) -> Delivery:
        """A ``WebhookEndpointTested`` event for this endpoint alone, shaped as every event."""
        envelope = {"id": new_id("evt"), "type": TEST_EVENT, "tenant_id": tenant_id, "livemode": endpoint.livemode,
                    "occurred_at": to_wire(at), "data": {"object": endpoint.to_public()}}  # fmt: skip
        body = json.dumps(envelope, separators=(",", ":")).encode()
        return cls(new_id(DELIVERY_PREFIX), endpoint.id, str(envelope["id"]), TEST_EVENT, at, body=body)

    @property
    def expires_at(self) -> datetime:
        return self.created_at + KEPT_FOR

    def to_public(self) -> dict[str, Any]:
        last = self.last_attempt
        return {
            "object": "webhook_delivery",
            "id": self.id,
            "webhook_endpoint": self.endpoint_id,
            "event": self.event_id,
            "event_type": self.event_type,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": to_wire(self.created_at),
            "last_attempt": None if last is None else {
                "at": to_wire(last.at), "duration_ms": last.duration_ms,
                "response_status": last.response_status, "error": last.error,
            },
            "next_attempt_at": to_wire(self.next_attempt_at) if self.next_attempt_at else None,
        }  # fmt: skip


@dataclass(frozen=True)
class DeliveryRef:
    """What a delivery queue message names (it holds no event data: the body is stored)."""

    tenant_id: str
    livemode: bool
    endpoint_id: str
    delivery_id: str
