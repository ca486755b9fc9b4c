"""Domain events: past-tense facts (``CustomerCreated``) about one scope.

Services return the events of a change; the repository writes them to the
outbox in the same transaction as the change itself, and the stream
publisher forwards outbox records to the event bus. A change and its event
are therefore never written separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from billing.clock import to_wire
from billing.ids import new_id
from billing.scope import Scope

SOURCE = "billing.platform"


@dataclass(frozen=True)
class DomainEvent:
    type: str
    scope: Scope
    occurred_at: datetime
    data: dict[str, Any]
    id: str = field(default_factory=lambda: new_id("evt"))

    def envelope(self) -> dict[str, Any]:
        """The JSON body published on the bus and sent to tenants' webhooks."""
        return {
            "id": self.id,
            "type": self.type,
            "tenant_id": self.scope.tenant_id,
            "livemode": self.scope.livemode,
            "occurred_at": to_wire(self.occurred_at),
            "data": self.data,
        }


class EventBus(Protocol):
    """Where the stream publisher puts each outbox record's ``envelope`` (EventBridge), for the
    bus's rules to route; a retried batch may publish one twice, so consumers dedupe by id."""

    def publish(self, envelope: dict[str, Any]) -> None: ...


class EventRecorder(Protocol):
    def record(self, event: DomainEvent) -> None:
        """Write an event that comes with no other change (a request to do work later)."""
