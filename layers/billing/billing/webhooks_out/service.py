"""``/v1/webhook_endpoints``: a tenant's endpoints, per mode, and what was delivered to them.

- create: the URL checked (``AddressPolicy.check_url``), at most ``MAX_ENDPOINTS`` per tenant and
  mode (422 ``too_many_endpoints``), a new secret sealed under the endpoint's context; the
  answer carries the secret, the only time it is shown;
- change (``PATCH``): url, events, description, ``disabled``; a change racing another is a 409
  ``concurrent_update`` (retry it);
- delete: the endpoint goes; its delivery log stays until it expires (30 days), and what was
  still queued for it is canceled when its turn comes;
- test: one ``WebhookEndpointTested`` event queued for this endpoint alone, through the same
  delivery path as every event (signature, SSRF checks, retries, log); 422
  ``endpoint_disabled`` for a disabled endpoint.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from billing.clock import Clock, SystemClock
from billing.errors import DomainRuleViolation
from billing.ids import found, new_id
from billing.pagination import Page, PageRequest
from billing.scope import Scope
from billing.webhooks_out.addresses import AddressPolicy
from billing.webhooks_out.model import (
    ENDPOINT_PREFIX,
    MAX_ENDPOINTS,
    Delivery,
    DeliveryRef,
    EndpointCreate,
    EndpointUpdate,
    WebhookEndpoint,
)
from billing.webhooks_out.ports import DeliveryQueue, DeliveryStore, EndpointRepository, context
from billing.webhooks_out.signing import new_secret

if TYPE_CHECKING:
    from billing.payments.accounts import Cipher


class WebhookEndpoints:
    def __init__(
        self,
        repo: EndpointRepository,
        deliveries: DeliveryStore,
        queue: DeliveryQueue,
        cipher: Cipher,
        policy: AddressPolicy,
        clock: Clock | None = None,
    ):
        self._repo, self._deliveries, self._queue, self._cipher = repo, deliveries, queue, cipher
        self._policy, self._clock = policy, clock or SystemClock()

    def create(self, scope: Scope, request: EndpointCreate) -> tuple[WebhookEndpoint, str]:
        """The new endpoint and its signing secret (shown this once)."""
        url = self._policy.check_url(request.url)
        if len(self._repo.list(scope)) >= MAX_ENDPOINTS:
            raise DomainRuleViolation(f"At most {MAX_ENDPOINTS} webhook endpoints per mode; delete one first.",
                                      code="too_many_endpoints")  # fmt: skip
        endpoint_id, secret, now = new_id(ENDPOINT_PREFIX), new_secret(), self._clock.now()
        sealed = self._cipher.encrypt(secret.encode(), context(scope, endpoint_id))
        endpoint = WebhookEndpoint(endpoint_id, url, tuple(request.enabled_events), True, now, now, scope.livemode,
                                   request.description, sealed=sealed)  # fmt: skip
        self._repo.create(scope, endpoint)
        return endpoint, secret

    def list(self, scope: Scope) -> builtins.list[WebhookEndpoint]:
        return self._repo.list(scope)

    def get(self, scope: Scope, endpoint_id: str) -> WebhookEndpoint:
        """The endpoint, or a 404 naming ``id``."""
        return found(lambda i: self._repo.get(scope, i), endpoint_id, ENDPOINT_PREFIX, "webhook endpoint")

    def update(self, scope: Scope, endpoint_id: str, update: EndpointUpdate) -> WebhookEndpoint:
        endpoint = self.get(scope, endpoint_id)
        url = self._policy.check_url(update.url) if update.url is not None else None
        changed = endpoint.changed(update, url, self._clock.now())
        self._repo.replace(scope, changed)
        return changed

    def delete(self, scope: Scope, endpoint_id: str) -> WebhookEndpoint:
        endpoint = self.get(scope, endpoint_id)
        self._repo.delete(scope, endpoint.id)
        return endpoint

    def deliveries(self, scope: Scope, endpoint_id: str, request: PageRequest) -> Page[Delivery]:
        """The endpoint's delivery log, newest first (kept 30 days)."""
        endpoint = self.get(scope, endpoint_id)
        return self._deliveries.page(scope, endpoint.id, request)

    def test(self, scope: Scope, endpoint_id: str) -> Delivery:
        """Queue a test event for this endpoint; its outcome shows in the delivery log."""
        endpoint = self.get(scope, endpoint_id)
        if not endpoint.enabled:
            raise DomainRuleViolation("The endpoint is disabled; enable it to test it.", code="endpoint_disabled")
        delivery = Delivery.test(endpoint, scope.tenant_id, self._clock.now())
        self._deliveries.add(scope, delivery)
        self._queue.send([DeliveryRef(scope.tenant_id, scope.livemode, endpoint.id, delivery.id)])
        return delivery
