"""Add newly stored events to the totals, exactly once, whatever the retries.

The aggregator reads the event store's stream. Every new event appears there once, but a
batch may be delivered again, whole or in part: Lambda retries a batch from the record the
function reports as failed, and splits it in halves after a crash or a timeout.

Records are applied in chunks, in stream order. Each chunk commits in one transaction
together with a marker named after its first record's sequence number and listing the
records it applied. A batch that reaches a committed chunk finds its marker and skips those
records. A batch that ends inside one (a half of a split batch) leaves a marker for the rest
of the chunk on the record after its end, where the next batch starts; so each record adds
to the totals once, wherever the batches begin and end. Maxima and latest values are
written before their chunk commits, as conditional writes that are harmless to repeat. A
distinct value counts once: its marker is created in the same transaction that adds it to
the count. How many records a chunk may take is the store's to say (its transactions'
limits). Before a chunk commits, the store also makes its events listable by customer, in
writes that are harmless to repeat (a retried chunk may list an event twice; reading lists it
once).

A record that can never be applied (a poison record: its event cannot be read or folded, or
the store refuses its writes) must not stop the shard for every tenant: the failing chunk is
halved until the record is alone, and that record is parked (kept with its error, for
inspection and replay, see ``billing.usage.dead_letters``) in the transaction that writes
its marker, so it is parked once and the stream moves on. A parked record's maximum or
latest value may already count (those writes precede the commit); replaying it repeats them
harmlessly. Any other failure (throttling, the store unavailable, no time left) stops the
batch where it is: ``Progress`` says how many records were settled, and the batch is
retried from the next one, the start of a chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from billing.clock import Clock, SystemClock, to_wire
from billing.ids import new_id
from billing.scope import Scope
from billing.usage.model import UsageEvent
from billing.usage.totals import AggregateKey, Delta, fold


@dataclass(frozen=True)
class Unreadable:
    """The event of a stream record that could not be read (its image does not decode)."""

    transaction_id: str | None
    problem: str


@dataclass(frozen=True)
class Record:
    sequence: str
    scope: Scope | None
    event: UsageEvent | Unreadable

    @property
    def transaction_id(self) -> str | None:
        return self.event.transaction_id

    @property
    def fact(self) -> tuple[Scope, UsageEvent] | None:
        """The event with its scope; None for a record that has none to apply."""
        return (self.scope, self.event) if isinstance(self.event, UsageEvent) and self.scope else None


@dataclass(frozen=True)
class Claim:
    """What makes a commit happen once: a marker that lists the records it covers, and for a
    replay the parked record it settles (removed in the same transaction)."""

    marker: str
    sequences: tuple[str, ...]
    settles: str | None = None


@dataclass(frozen=True)
class Parked:
    """A stream record the aggregator could not apply, kept until it is replayed."""

    id: str
    source: str
    sequence: str
    scope: Scope | None
    transaction_id: str | None
    error: str
    parked_at: str
    attempts: int = 1


@dataclass
class Progress:
    """How far a batch got: ``settled`` records applied, skipped or parked, in order; ``error``
    is what stopped it early (the batch is then retried from record ``settled``)."""

    settled: int = 0
    parked: list[Parked] = field(default_factory=list)
    error: Exception | None = None


class AlreadyApplied(Exception):
    def __init__(self, sequences: Sequence[str]):
        super().__init__(f"chunk already applied ({len(sequences)} records)")
        self.sequences = tuple(sequences)


class ValueTaken(Exception):
    """A distinct value was counted by a concurrent chunk: plan the chunk again."""


class Unapplicable(Exception):
    """The store refuses these writes for what they are (not for a passing reason)."""


class AggregateStore(Protocol):
    def chunk_size(self, events: Sequence[tuple[Scope, UsageEvent]]) -> int:
        """How many of ``events`` (at least one) one ``commit`` can take: the store's limits."""

    def list_by_customer(self, claim: Claim, events: Sequence[tuple[Scope, UsageEvent]]) -> None:
        """Make the chunk's events listable by customer (before it commits; safe to repeat)."""

    def raise_extremes(self, deltas: dict[AggregateKey, Delta]) -> None:
        """Conditional writes of max and latest values (safe to repeat)."""

    def unseen(self, deltas: dict[AggregateKey, Delta]) -> dict[AggregateKey, set[str]]:
        """The distinct values of each delta not counted yet."""

    def commit(self, claim: Claim, deltas: dict[AggregateKey, Delta], new_values: dict[AggregateKey, set[str]]) -> None:
        """Add the deltas and the claim atomically; ``AlreadyApplied`` or ``ValueTaken`` if refused."""

    def park(self, claim: Claim, parked: Parked) -> None:
        """Write the claim and the parked record atomically; ``AlreadyApplied`` if claimed."""

    def carry(self, claim: Claim) -> None:
        """Write a marker for records already applied, unless it exists."""


def plan_chunk(store: AggregateStore, records: Sequence[Record]) -> int:
    """How many of ``records`` the next chunk takes: an unreadable one alone, else as many
    readable ones as one commit of the store takes."""
    facts: list[tuple[Scope, UsageEvent]] = []
    for record in records:
        if (fact := record.fact) is None:
            break
        facts.append(fact)
    return store.chunk_size(facts) if facts else 1


def facts_of(records: Sequence[Record]) -> list[tuple[Scope, UsageEvent]]:
    """The chunk's events with their scopes; a record without them is ``Unapplicable``."""
    facts = []
    for record in records:
        if (fact := record.fact) is None:
            raise Unapplicable(record.event.problem if isinstance(record.event, Unreadable) else "no scope")
        facts.append(fact)
    return facts


def deltas_of(facts: Sequence[tuple[Scope, UsageEvent]]) -> dict[AggregateKey, Delta]:
    """The chunk's deltas; events whose data cannot be folded are ``Unapplicable``."""
    try:
        return fold(facts)
    except (ArithmeticError, ValueError, TypeError, KeyError) as bad:
        raise Unapplicable(f"{type(bad).__name__}: {bad}") from None


class UsageAggregator:
    def __init__(self, store: AggregateStore, max_races: int = 10, clock: Clock | None = None):
        self._store = store
        self._max_races = max_races
        self._clock = clock or SystemClock()

    def apply(self, source: str, records: Sequence[Record], in_time: Callable[[], bool] = lambda: True) -> Progress:
        """Apply ``records`` (one stream batch, in order) while ``in_time()``; see ``Progress``."""
        progress, races, limit = Progress(), 0, len(records)
        while progress.settled < len(records) and in_time():
            try:
                progress.settled, parked, limit = self._step(source, records, progress.settled, limit)
            except ValueTaken as race:
                races += 1
                if races <= self._max_races:
                    continue
                progress.error = race
                return progress
            except Exception as error:  # a passing failure: the batch is retried from this chunk
                progress.error = error
                return progress
            if parked:
                progress.parked.append(parked)
        return progress

    def _step(self, source: str, records: Sequence[Record], start: int, limit: int) -> tuple[int, Parked | None, int]:
        """One chunk from ``start``: where the batch goes on, the record parked if any, and the
        most records the next chunk may take (halved while a refused record is looked for)."""
        size = plan_chunk(self._store, records[start : start + limit])
        chunk = records[start : start + size]
        claim = Claim(f"{source}#{chunk[0].sequence}", tuple(record.sequence for record in chunk))
        try:
            try:
                self._commit(claim, chunk)
                return start + size, None, limit
            except Unapplicable as refused:
                if size > 1:
                    return start, None, size // 2
                return start + 1, self._park(source, claim, chunk[0], str(refused)), len(records)
        except AlreadyApplied as done:
            return self._skip(source, records, start, done.sequences), None, limit

    def replay(self, parked: Parked, scope: Scope, event: UsageEvent) -> None:
        """Apply a parked record's event (as stored now) and remove it from the parked ones,
        once; ``Unapplicable`` if it still cannot be applied."""
        claim = Claim(f"replay#{parked.id}", (parked.sequence,), settles=parked.id)
        for _ in range(self._max_races + 1):
            try:
                self._commit(claim, [Record(parked.sequence, scope, event)])
                return
            except AlreadyApplied:
                return
            except ValueTaken:
                continue
        raise ValueTaken()

    def _commit(self, claim: Claim, chunk: Sequence[Record]) -> None:
        facts = facts_of(chunk)
        deltas = deltas_of(facts)
        self._store.list_by_customer(claim, facts)
        self._store.raise_extremes(deltas)
        self._store.commit(claim, deltas, self._store.unseen(deltas))

    def _skip(self, source: str, records: Sequence[Record], start: int, applied: tuple[str, ...]) -> int:
        """Where the batch goes on after a committed chunk at ``start``; a chunk reaching past the
        batch's end leaves a marker for its rest on the record after that end."""
        end = start + len(applied)
        if end > len(records):
            rest = applied[len(records) - start :]
            self._store.carry(Claim(f"{source}#{rest[0]}", rest))
            return len(records)
        return end

    def _park(self, source: str, claim: Claim, record: Record, error: str) -> Parked:
        parked = Parked(
            id=new_id("upk"),
            source=source,
            sequence=record.sequence,
            scope=record.scope,
            transaction_id=record.transaction_id,
            error=error,
            parked_at=to_wire(self._clock.now()),
        )
        self._store.park(claim, parked)
        return parked
