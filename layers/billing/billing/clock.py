"""Wall-clock access in one place, so tests and test clocks can move time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def to_wire(moment: datetime) -> str:
    """UTC ISO 8601 with a ``Z`` suffix and second precision, as sent on the wire."""
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
