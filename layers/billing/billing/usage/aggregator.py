"""Add newly stored events to the totals, exactly once, whatever the retries.

The aggregator reads the event store's stream. Every new event appears there
once, but a batch may be delivered again (a timeout, a crash, a throttled
write): Lambda then retries from the first record it was told had failed,
so a retried batch always starts where an unfinished one started.

Records are applied in chunks, in stream order. Each chunk commits in one
transaction together with a marker named after its first record's sequence
number and holding how many records it applied. A retry that reaches a
committed chunk finds its marker, skips the records it counts, and goes on
from there; so each record adds to the totals once. Maxima and latest values
are written before their chunk commits, as conditional writes that are
harmless to repeat. A distinct value counts once: its marker is created in
the same transaction that adds it to the count.

This relies on a retried batch holding at least the records of the attempt
before it, which Lambda's stream retries do (they re-read from the failed
record, and the shard only grows). Should a retry ever be shorter than a chunk
it finds committed, the batch fails instead of succeeding: succeeding would
let the next batch start inside that chunk and count its tail twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from billing.scope import Scope
from billing.usage.aggregation import AggregateKey, Delta, fold, key_of
from billing.usage.model import UsageEvent

CHUNK_ITEMS = 90  # items a chunk may touch: DynamoDB transactions hold at most 100


@dataclass(frozen=True)
class Record:
    sequence: str
    scope: Scope
    event: UsageEvent


class AlreadyApplied(Exception):
    def __init__(self, count: int):
        super().__init__(f"chunk already applied ({count} records)")
        self.count = count


class ChunkOutrunsBatch(Exception):
    """A committed chunk reaches past the end of this batch: retry with the whole chunk."""


class ValueTaken(Exception):
    """A distinct value was counted by a concurrent chunk: plan the chunk again."""


class AggregateStore(Protocol):
    def raise_extremes(self, deltas: dict[AggregateKey, Delta]) -> None:
        """Conditional writes of max and latest values (safe to repeat)."""

    def unseen(self, deltas: dict[AggregateKey, Delta]) -> dict[AggregateKey, set[str]]:
        """The distinct values of each delta not counted yet."""

    def commit(
        self, marker: str, count: int, deltas: dict[AggregateKey, Delta], new_values: dict[AggregateKey, set[str]]
    ) -> None:
        """Add the deltas and the marker atomically; ``AlreadyApplied`` or ``ValueTaken`` if refused."""


def touched(record: Record) -> set[tuple[str, ...]]:
    """The stored items one record writes to."""
    key = key_of(record.scope, record.event)
    items: set[tuple[str, ...]] = {("agg", repr(key))}
    if record.event.aggregation == "weighted_sum":
        items.add(("level", repr(key)))
    if record.event.unique is not None:
        items.add(("value", repr(key), record.event.unique))
    return items


def plan_chunk(records: Sequence[Record]) -> int:
    """How many of ``records`` the next chunk takes (at least one)."""
    items: set[tuple[str, ...]] = set()
    for count, record in enumerate(records):
        more = touched(record) - items
        if count and len(items) + len(more) > CHUNK_ITEMS:
            return count
        items |= more
    return len(records)


class UsageAggregator:
    def __init__(self, store: AggregateStore, max_races: int = 10):
        self._store = store
        self._max_races = max_races

    def apply(self, source: str, records: Sequence[Record]) -> None:
        """Apply ``records`` (one stream batch, in order). An exception leaves a prefix applied."""
        start, races = 0, 0
        while start < len(records):
            size = plan_chunk(records[start:])
            chunk = records[start : start + size]
            deltas = fold((record.scope, record.event) for record in chunk)
            self._store.raise_extremes(deltas)
            try:
                self._store.commit(f"{source}#{chunk[0].sequence}", size, deltas, self._store.unseen(deltas))
            except AlreadyApplied as done:
                if start + done.count > len(records):
                    raise ChunkOutrunsBatch(f"chunk of {done.count} records at {chunk[0].sequence}") from None
                start += done.count
                continue
            except ValueTaken:
                races += 1
                if races > self._max_races:
                    raise
                continue
            start += size
