"""What the outbound webhooks need of storage, queues and KMS (adapters in ``billing.adapters``:
``dynamodb/webhook_endpoints.py``, ``webhook_queue.py``, ``kms.py``; in-memory fakes in the
unit tests). Secrets are sealed through the payment
accounts' ``Cipher`` port (``billing.payments.accounts``), the one sealing port."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from billing.pagination import Page, PageRequest
from billing.scope import Scope
from billing.webhooks_out.model import Delivery, DeliveryRef, WebhookEndpoint


class EndpointRepository(Protocol):
    def list(self, scope: Scope) -> list[WebhookEndpoint]:
        """The scope's endpoints, oldest first (one partition, a consistent read)."""

    def get(self, scope: Scope, endpoint_id: str) -> WebhookEndpoint | None: ...

    def create(self, scope: Scope, endpoint: WebhookEndpoint) -> None: ...

    def replace(self, scope: Scope, endpoint: WebhookEndpoint) -> None:
        """Write over the stored one if that is at ``endpoint.revision - 1``; else a ``Conflict``."""

    def delete(self, scope: Scope, endpoint_id: str) -> None: ...


class DeliveryStore(Protocol):
    def add(self, scope: Scope, delivery: Delivery) -> Delivery | None:
        """Store a new delivery: None when written, else the one stored under its id."""

    def get(self, scope: Scope, endpoint_id: str, delivery_id: str) -> Delivery | None: ...

    def attempted(self, scope: Scope, delivery: Delivery) -> None:
        """Write what an attempt changed of ``delivery``: ``status``, ``attempts``,
        ``last_attempt``, ``next_attempt_at`` (the body and the rest stay)."""

    def page(self, scope: Scope, endpoint_id: str, request: PageRequest) -> Page[Delivery]:
        """An endpoint's deliveries, newest first."""


class DeliveryQueue(Protocol):
    def send(self, refs: Sequence[DeliveryRef]) -> None: ...


def context(scope: Scope, endpoint_id: str) -> dict[str, str]:
    """The encryption context of an endpoint's secret: it opens for that endpoint alone."""
    return {"tenant_id": scope.tenant_id, "mode": "live" if scope.livemode else "test", "webhook_endpoint": endpoint_id}
