"""Usage events as stored, rejections, and what an ingest reports.

An accepted event is stamped with everything aggregation needs (the
subscription and billing period it falls in, the meter's aggregation, the
value after the meter's rounding, its group), so the aggregator never looks
anything up and re-rating reads the same facts the totals were built from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Aggregation = str  # one of billing.catalog.meters.Aggregation


@dataclass(frozen=True)
class BilledPeriod:
    """A usage period already on an invoice: late usage for it counts while the invoice is a
    draft, until ``closes_at`` (its finalization); ``closes_at`` None: finalized, closed."""

    start: str
    end: str
    closes_at: str | None


@dataclass(frozen=True)
class UsageEvent:
    transaction_id: str
    customer: str
    code: str
    timestamp: str
    properties: dict[str, Any]
    subscription: str
    period_start: str
    period_end: str
    aggregation: Aggregation
    value: Decimal
    group: dict[str, str | None]
    received_at: str
    unique: str | None = None  # the value counted by unique_count meters

    @property
    def group_key(self) -> str:
        return group_key(self.group)

    def to_public(self, livemode: bool) -> dict[str, Any]:
        return {
            "object": "usage_event",
            "livemode": livemode,
            "transaction_id": self.transaction_id,
            "customer": self.customer,
            "code": self.code,
            "timestamp": self.timestamp,
            "properties": self.properties,
            "subscription": self.subscription,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "received_at": self.received_at,
        }


def group_key(group: dict[str, str | None]) -> str:
    """A group as canonical JSON: one aggregate per (meter, group)."""
    return json.dumps(group, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Rejection:
    """Why one event of a request was refused; nothing of it was stored."""

    index: int
    transaction_id: str | None
    code: str
    message: str
    param: str | None = None
    type: str = "domain_error"

    def to_public(self) -> dict[str, Any]:
        error = {"type": self.type, "code": self.code, "message": self.message, "param": self.param}
        return {"index": self.index, "transaction_id": self.transaction_id, "error": error}


@dataclass
class IngestResult:
    accepted: list[UsageEvent] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)  # indexes of the request's events
    rejected: list[Rejection] = field(default_factory=list)

    def to_public(self) -> dict[str, Any]:
        return {
            "object": "usage_batch_result",
            "accepted": len(self.accepted),
            "duplicates": len(self.duplicates),
            "rejected": [rejection.to_public() for rejection in self.rejected],
        }
