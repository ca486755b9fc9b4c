"""An event from the bus -> one delivery per endpoint that wants it, each its own queue message.

The bus's ``WebhookFanoutRule`` routes every domain event to ``WebhookEventQueue``; for each,
the endpoints of its tenant and mode are read (one ``Query``, cached per container for
``LOOKUP_TTL_S``, as provider accounts are), and each enabled one that lists the event's type
(or ``*``) gets a delivery: stored first, with the event's body frozen, then queued. The
delivery's id is derived from (endpoint, event), so the bus delivering an event twice (it
delivers at least once) stores nothing new; the message is sent again only while the stored
delivery was never tried (the first send may have been lost), and the delivery function skips
one that succeeded.
"""

from __future__ import annotations

import json
from typing import Any

from billing.cache import LOOKUP_TTL_S, TtlCache
from billing.clock import Clock, SystemClock
from billing.scope import Scope
from billing.webhooks_out.model import Delivery, DeliveryRef, WebhookEndpoint
from billing.webhooks_out.ports import DeliveryQueue, DeliveryStore, EndpointRepository


def body_of(envelope: dict[str, Any]) -> bytes:
    """The bytes POSTed for an event: its envelope as compact JSON (what the bus carried)."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


class Fanout:
    def __init__(
        self,
        repo: EndpointRepository,
        deliveries: DeliveryStore,
        queue: DeliveryQueue,
        clock: Clock | None = None,
        ttl_s: float = LOOKUP_TTL_S,
    ):
        self._repo, self._deliveries, self._queue = repo, deliveries, queue
        self._clock = clock or SystemClock()
        self._endpoints: TtlCache[list[WebhookEndpoint]] = TtlCache(ttl_s)

    def fan_out(self, envelope: dict[str, Any]) -> list[Delivery]:
        """The deliveries queued for ``envelope`` (a bus event's ``detail``)."""
        scope = Scope(str(envelope["tenant_id"]), bool(envelope["livemode"]))
        endpoints = self._endpoints.get(scope.key, lambda: self._repo.list(scope)) or []
        wanting = [endpoint for endpoint in endpoints if endpoint.wants(str(envelope["type"]))]
        if not wanting:
            return []
        body, now = body_of(envelope), self._clock.now()
        queued: list[Delivery] = []
        for endpoint in wanting:
            delivery = Delivery.of(endpoint.id, envelope, body, now)
            stored = self._deliveries.add(scope, delivery)
            if stored is None or (stored.status == "pending" and stored.attempts == 0):
                queued.append(stored or delivery)
        self._queue.send([DeliveryRef(scope.tenant_id, scope.livemode, d.endpoint_id, d.id) for d in queued])
        return queued
