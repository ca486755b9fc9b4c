"""Usage the aggregator's stream mapping gave up on: its on-failure queue, read and replayed.

After its last retry, Lambda skips a batch and sends the queue an invocation record that
names the shard and the sequence numbers, not the data. Replaying one reads those records
back from the stream (it keeps them 24 hours) and applies them as the function would, so
chunk markers skip what was applied already; the message is deleted once every record is
settled (applied, skipped or parked).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from billing.errors import NotFound
from billing.usage.aggregator import Progress, Record, UsageAggregator


@dataclass(frozen=True)
class FailedBatch:
    """One message of the on-failure queue: where the skipped records are, not what."""

    message_id: str
    receipt: str  # the queue's handle of the message, to hide, show or delete it
    stream_arn: str
    shard_id: str
    first: str
    last: str
    size: int
    condition: str
    failed_at: str


class FailedBatchQueue(Protocol):
    def waiting(self, hold_s: int) -> list[FailedBatch]:
        """The batches waiting; ``hold_s`` hides them from other readers that long (0: only a
        look, they stay visible)."""

    def release(self, batch: FailedBatch) -> None:
        """Make a batch held by ``waiting`` visible again at once."""

    def delete(self, batch: FailedBatch) -> None: ...


class UsageStream(Protocol):
    def read(self, stream_arn: str, shard_id: str, first: str, last: str) -> list[Record] | None:
        """The records of one shard from sequence number ``first`` to ``last``, as the
        aggregator is given them; None once the stream no longer holds them."""


class FailedBatches:
    def __init__(self, queue: FailedBatchQueue, stream: UsageStream, aggregator: UsageAggregator):
        self._queue, self._stream, self._aggregator = queue, stream, aggregator

    def waiting(self, hold_s: int = 0) -> list[FailedBatch]:
        return self._queue.waiting(hold_s)

    def release(self, batch: FailedBatch) -> None:
        self._queue.release(batch)

    def replay(self, batch: FailedBatch) -> Progress:
        """Apply the batch's records again; the message goes once all are settled."""
        records = self._stream.read(batch.stream_arn, batch.shard_id, batch.first, batch.last)
        if records is None:
            raise NotFound("The stream no longer holds these records (it keeps them 24 hours).", param="id")
        progress = self._aggregator.apply(batch.stream_arn, records)
        if progress.settled == len(records) and progress.error is None:
            self._queue.delete(batch)
        return progress
