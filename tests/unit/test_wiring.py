"""Queue, bus and stream I/O behind ports, handlers wired by the one composition root."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from billing.adapters import migration_pages
from billing.catalog.service import update_request
from billing.errors import NotFound
from billing.scope import Scope
from billing.subscriptions import migrations
from billing.subscriptions.migrations import MigrationPage, PlanMigrations
from billing.usage import schema
from billing.usage.aggregator import Record, UsageAggregator
from billing.usage.failed_batches import FailedBatch, FailedBatches
from tests.unit.fakes import MemoryAggregates
from tests.unit.test_subscriptions import SCOPE, World
from tests.unit.test_usage import World as UsageWorld
from tests.unit.test_usage import ev

ROOT = Path(__file__).resolve().parents[2]


class MemoryPages(list[MigrationPage]):
    def send(self, page: MigrationPage) -> None:
        self.append(page)


class MemoryEvents:
    def record(self, event: object) -> None:
        pass


def test_a_migration_queues_its_pages_one_after_the_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrations, "PAGE_SIZE", 2)
    world, pages = World(), MemoryPages()
    subs = [world.subscribe() for _ in range(5)]
    old = world.catalog.find(SCOPE, "plan", "basic")
    assert old is not None
    new = world.catalog.update(SCOPE, "plan", old.id, update_request("plan", {"base_fee": 2000}))
    service = PlanMigrations(world.service, world.lookups, MemoryEvents(), pages, world.clock)  # type: ignore[arg-type]
    pages.send(MigrationPage(SCOPE, "mig_1", new.id, "2099-01-01T00:00:00Z"))  # the request, routed by the bus
    handled = 0
    while pages:
        service.migrate(pages.pop(0))
        handled += 1
    assert handled == 3
    assert all(world.service.get(SCOPE, sub.id).pending_change is not None for sub in subs)


def test_a_page_message_reads_back_as_the_page() -> None:
    page = MigrationPage(Scope("ten_a", livemode=True), "mig_1", "plan_2", "2099-01-01T00:00:00Z", cursor="sub_9")
    assert migration_pages.parse(json.dumps(migration_pages.message(page))) == page


def test_the_requested_event_is_the_first_page() -> None:
    envelope = {"id": "evt_1", "type": "PlanMigrationRequested", "tenant_id": "ten_a", "livemode": False,
                "occurred_at": "2026-01-01T00:00:00Z", "data": {"id": "mig_1", "plan": "plan_2",
                "plan_code": "pro", "effective_date": "2099-01-01T00:00:00Z", "status": "scheduled"}}  # fmt: skip
    routed = {"version": "0", "detail-type": "PlanMigrationRequested", "source": "billing.platform", "detail": envelope}
    page = migration_pages.parse(json.dumps(routed))
    assert page == MigrationPage(Scope("ten_a", livemode=False), "mig_1", "plan_2", "2099-01-01T00:00:00Z")


BATCH = FailedBatch("m1", "r1", "arn:stream", "shard-1", "1", "4", 4, "RetryAttemptsExhausted", "2026-01-01T00:00:00Z")


@dataclass
class MemoryFailedBatchQueue:
    batches: list[FailedBatch] = field(default_factory=lambda: [BATCH])

    def waiting(self, hold_s: int) -> list[FailedBatch]:
        return list(self.batches)

    def release(self, batch: FailedBatch) -> None:
        pass

    def delete(self, batch: FailedBatch) -> None:
        self.batches = [b for b in self.batches if b != batch]


@dataclass
class MemoryStream:
    records: list[Record] | None

    def read(self, stream_arn: str, shard_id: str, first: str, last: str) -> list[Record] | None:
        return self.records


def test_a_replayed_batch_counts_once_and_leaves_the_queue() -> None:
    world = UsageWorld()
    stamped = world.ingest.ingest(SCOPE, schema.read_all([ev(f"c{i}") for i in range(4)])).accepted
    records = [Record(str(i), SCOPE, event) for i, event in enumerate(stamped)]
    store, queue = MemoryAggregates(), MemoryFailedBatchQueue()
    batches = FailedBatches(queue, MemoryStream(records), UsageAggregator(store))
    assert batches.replay(BATCH).settled == 4
    assert queue.batches == []
    batches.replay(BATCH)  # replayed again: chunk markers skip it
    [row] = store.rows.values()
    assert row["n"] == 4


def test_a_batch_the_stream_no_longer_holds_stays_in_the_queue() -> None:
    queue = MemoryFailedBatchQueue()
    batches = FailedBatches(queue, MemoryStream(None), UsageAggregator(MemoryAggregates()))
    with pytest.raises(NotFound):
        batches.replay(BATCH)
    assert batches.waiting() == [BATCH]


def test_handlers_get_every_service_and_client_from_the_composition_root() -> None:
    """A handler that builds its own service or client would be wired differently from the
    others (another clock, another endpoint): each takes them from ``billing.adapters.services``.
    (Powertools' ``SqsFifoPartialProcessor`` is the batch machinery, not an adapter.)"""
    adapter = r"\b(Dynamo|Sqs(?!FifoPartialProcessor)|EventBridge|S3)\w*\("
    building = re.compile(adapter + r"|\w+Service\(|\baws\.client\(|\bboto3\.")
    handlers = [*(ROOT / "functions").glob("*/handler.py"), *(ROOT / "functions" / "api").rglob("*.py")]
    offenders = [str(path.relative_to(ROOT)) for path in handlers if building.search(path.read_text())]
    assert len(handlers) > 5 and offenders == []
