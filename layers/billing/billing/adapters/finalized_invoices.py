"""The invoice charge queue's messages: ``InvoiceFinalized`` and ``InvoicePaymentRetried`` (a
dunning ``retry_payment`` step) events the bus routes to it (``InvoiceChargeRule`` in
template.yaml), and ``CustomerBalanceLow`` events for automatic top-ups (``PrepaidTopUpRule``),
as EventBridge puts them on a queue (``detail-type`` is the event's type, ``detail`` its
envelope)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from billing.payments.off_session import BalanceLow
from billing.scope import Scope

BALANCE_LOW = "CustomerBalanceLow"


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


def kind(body: str) -> str:
    """The type of the event a message carries."""
    return str(json.loads(body)["detail-type"])


def parse_balance_low(body: str) -> BalanceLow:
    """Whose balance went low, and the event's id and time; nothing else of it is trusted."""
    detail = json.loads(body)["detail"]
    scope = Scope(detail["tenant_id"], livemode=bool(detail["livemode"]))
    occurred = datetime.fromisoformat(detail["occurred_at"])
    return BalanceLow(scope, str(detail["data"]["customer"]), str(detail["id"]), occurred)
