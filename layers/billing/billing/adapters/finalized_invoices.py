"""The invoice charge queue's messages: ``InvoiceFinalized`` events the bus routes to it
(``InvoiceChargeRule`` in template.yaml), as EventBridge puts them on a queue (``detail`` is
the event's envelope)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from billing.scope import Scope


@dataclass(frozen=True)
class FinalizedInvoice:
    scope: Scope
    invoice_id: str
    event_id: str


def parse(body: str) -> FinalizedInvoice:
    """Which invoice of whom a message is about; nothing else of the event is trusted (the
    invoice is read again)."""
    detail = json.loads(body)["detail"]
    scope = Scope(detail["tenant_id"], livemode=bool(detail["livemode"]))
    return FinalizedInvoice(scope, str(detail["data"]["object"]["id"]), str(detail["id"]))
