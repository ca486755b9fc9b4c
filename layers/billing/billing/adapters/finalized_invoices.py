"""The invoice charge queue's messages: ``InvoiceFinalized`` and ``InvoicePaymentRetried`` (a
dunning ``retry_payment`` step) events the bus routes to it (``InvoiceChargeRule`` in
template.yaml), as EventBridge puts them on a queue (``detail`` is the event's envelope)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from billing.scope import Scope


@dataclass(frozen=True)
class FinalizedInvoice:
    scope: Scope
    invoice_id: str
    event_id: str
    attempt: str | None = None  # a retry: which dunning step asked for it


def parse(body: str) -> FinalizedInvoice:
    """Which invoice of whom a message is about; nothing else of the event is trusted (the
    invoice is read again)."""
    detail = json.loads(body)["detail"]
    scope = Scope(detail["tenant_id"], livemode=bool(detail["livemode"]))
    data = detail["data"]
    attempt = f"retry{int(data['days_after_due'])}" if detail["type"] == "InvoicePaymentRetried" else None
    return FinalizedInvoice(scope, str(data["object"]["id"]), str(detail["id"]), attempt)
