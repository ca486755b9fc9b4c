"""Usage rules with in-memory stores: stamping, rounding, quantities, and exactly-once totals
under repeats, any split into batches and threads, and retried stream deliveries."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.catalog.service import CatalogService
from billing.customers import CustomerService
from billing.errors import DomainRuleViolation, InvalidRequest
from billing.scope import Scope
from billing.subscriptions.service import SubscriptionService
from billing.usage.aggregation import Stored, quantity, wire
from billing.usage.aggregator import ChunkOutrunsBatch, Record, UsageAggregator, plan_chunk
from billing.usage.ingest import UsageIngest
from billing.usage.stamping import Directory
from tests.unit.clock import FrozenClock
from tests.unit.fakes import MemoryAggregates, MemoryCatalog, MemoryCustomers, MemorySubscriptions, MemoryUsageEvents

SCOPE = Scope("ten_a", livemode=False)
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
METERS = {
    "calls": {"aggregation": "count"},
    "seconds": {"aggregation": "sum", "field": "s", "rounding": {"increment": 60, "minimum": 60}},
    "gb": {"aggregation": "max", "field": "gb"},
    "users": {"aggregation": "unique_count", "field": "user"},
    "temp": {"aggregation": "latest", "field": "c"},
    "seats": {"aggregation": "weighted_sum", "field": "d"},
}


class World:
    def __init__(self) -> None:
        self.clock = FrozenClock(NOW)
        catalog_repo, self.customer_repo = MemoryCatalog(), MemoryCustomers()
        self.subscription_repo = MemorySubscriptions(catalog_repo, self.customer_repo)
        self.catalog = CatalogService(catalog_repo, self.clock)
        customers = CustomerService(self.customer_repo, self.clock)
        subscriptions = SubscriptionService(self.subscription_repo, self.customer_repo, self.catalog, self.clock)
        for code, meter in METERS.items():
            self.catalog.create(SCOPE, "meter", {"code": code, "name": code, **meter})
        charges = [{"meter": code, "model": "per_unit", "unit_amount": "1"} for code in METERS]
        self.catalog.create(SCOPE, "plan", {"code": "p", "name": "P", "currency": "USD", "interval": "month",
                                            "charges": charges})  # fmt: skip
        self.customer = customers.create(SCOPE, {"name": "C", "external_id": "ext-1"}).id
        start = (NOW - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.sub = subscriptions.create(SCOPE, {"customer": self.customer, "plan": "p", "start_date": start})
        self.events = MemoryUsageEvents()
        self.grace = timedelta(hours=1)
        directory = Directory(self.customer_repo, self.subscription_repo, self.catalog)
        self.ingest = UsageIngest(self.events, directory, lambda scope: self.grace, self.clock)


@pytest.fixture
def world() -> World:
    return World()


def ev(txid: str, code: str = "calls", minutes_ago: float = 1, customer: str = "ext-1", **props: Any) -> dict:
    stamp = (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"transaction_id": txid, "customer": customer, "code": code, "timestamp": stamp, "properties": props}


def test_accepted_events_are_stamped_with_their_subscription_period(world: World) -> None:
    result = world.ingest.ingest(SCOPE, [ev("a", "seconds", s=61), ev("b", "seconds", s=Decimal("0.5"))])
    first, second = result.accepted
    assert (first.customer, first.subscription) == (world.customer, world.sub.id)
    assert (first.period_start, first.period_end) == (world.sub.current_period_start, world.sub.current_period_end)
    assert (first.value, second.value) == (Decimal(120), Decimal(60))  # started minutes, one at least


def test_events_without_timestamp_happen_now_and_strings_are_exact(world: World) -> None:
    body = {"transaction_id": "n", "customer": world.customer, "code": "gb", "properties": {"gb": "0.1"}}
    [accepted] = world.ingest.ingest(SCOPE, [body]).accepted
    assert accepted.timestamp == "2026-03-15T12:00:00Z" and accepted.value == Decimal("0.1")


@pytest.mark.parametrize(
    ("event", "code", "param"),
    [
        (ev("x", customer="ghost"), "customer_not_found", "customer"),
        (ev("x", code="ghost"), "meter_not_found", "code"),
        (ev("x", minutes_ago=36 * 24 * 60), "timestamp_too_old", "timestamp"),
        (ev("x", minutes_ago=-6), "timestamp_in_future", "timestamp"),
        (ev("x", minutes_ago=11 * 24 * 60), "before_subscription_start", "timestamp"),
        (ev("x", "seconds"), "property_missing", "properties.s"),
        (ev("x", "seconds", s="NaN"), "property_not_numeric", "properties.s"),
        (ev("x", "seconds", s=True), "property_not_numeric", "properties.s"),
        (ev("x", "users", user=False), "property_invalid", "properties.user"),
        ({**ev("x"), "extra": 1}, "parameter_unknown", "extra"),
        ({"customer": "ext-1", "code": "calls"}, "parameter_missing", "transaction_id"),
    ],
)
def test_each_rule_refuses_with_its_code(world: World, event: dict, code: str, param: str) -> None:
    result = world.ingest.ingest(SCOPE, [event, ev("ok")])
    assert [e.transaction_id for e in result.accepted] == ["ok"]
    [rejected] = result.rejected
    assert (rejected.index, rejected.code, rejected.param) == (0, code, param)
    with pytest.raises((InvalidRequest, DomainRuleViolation)) as raised:
        world.ingest.ingest_one(SCOPE, event)
    assert raised.value.code == code


def test_refusals_quote_at_most_the_start_of_a_huge_value(world: World) -> None:
    huge = ["x" * 900, {"k": "v" * 900}]
    result = world.ingest.ingest(SCOPE, [ev("a", code="c" * 900), ev("b", "seconds", s=huge), ev("t" * 900)])
    code, prop, txid = result.rejected
    assert (code.param, prop.param, txid.param) == ("code", "properties.s", "transaction_id")
    assert all(len(r.message) <= 300 and "..." in r.message for r in result.rejected), result.rejected
    assert (code.transaction_id, txid.transaction_id) == ("a", None)  # an id beyond the contract is not echoed


def test_a_closed_period_refuses_late_events_after_the_grace_period(world: World) -> None:
    world.clock.advance(days=25)  # the subscription's first period ended 5 days ago
    late = ev("late", minutes_ago=-25 * 24 * 60 + 6 * 24 * 60)  # 6 days before the new now
    assert world.ingest.ingest(SCOPE, [late]).rejected[0].code == "period_closed"
    world.grace = timedelta(days=7)
    assert len(world.ingest.ingest(SCOPE, [late]).accepted) == 1


def test_weighted_sum_is_the_time_weighted_level() -> None:
    period = ("2026-03-01T00:00:00Z", "2026-03-11T00:00:00Z")  # 10 days
    # level 3 carried in; +4 on day 5 (weighted 5 of 10 days)
    stored = Stored(code="seats", group={}, aggregation="weighted_sum", total=Decimal(4), wsum=Decimal(4 * 5 * 86400))
    assert wire(quantity(stored, period, level_before=Decimal(3))) == "5"


def test_wire_never_uses_exponents() -> None:
    assert [wire(Decimal(x)) for x in ("1E+2", "12.500", "0.000001", "-3")] == ["100", "12.5", "0.000001", "-3"]


def test_chunks_stay_within_a_transaction(world: World) -> None:
    events = [ev(f"u{i}", "users", user=f"user-{i}") for i in range(250)]
    stamped = world.ingest.ingest(SCOPE, events).accepted
    records = [Record(str(i), SCOPE, event) for i, event in enumerate(stamped)]
    assert plan_chunk(records) == 89  # one aggregate plus 89 distinct values = 90 items


def test_a_retry_shorter_than_a_committed_chunk_fails_rather_than_count_twice(world: World) -> None:
    stamped = world.ingest.ingest(SCOPE, [ev(f"c{i}") for i in range(4)]).accepted
    records = [Record(str(i), SCOPE, event) for i, event in enumerate(stamped)]
    store = MemoryAggregates()
    UsageAggregator(store).apply("s", records)  # one chunk of 4, then (say) a timeout
    with pytest.raises(ChunkOutrunsBatch):
        UsageAggregator(store).apply("s", records[:2])  # a shorter retry must not succeed
    UsageAggregator(store).apply("s", records)  # the full retry skips the chunk
    [row] = store.rows.values()
    assert row["n"] == 4


class Flaky(MemoryAggregates):
    """Fails now and then before a commit, or after it (a timeout after the write succeeded)."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng

    def commit(self, marker: str, count: int, deltas: Any, new_values: Any) -> None:
        if self.rng.random() < 0.2:
            raise TimeoutError("before commit")
        super().commit(marker, count, deltas, new_values)
        if self.rng.random() < 0.2:
            raise TimeoutError("after commit")


def deliver(stream: list, aggregator: UsageAggregator, rng: random.Random) -> None:
    """Lambda's stream semantics: batches in order; a failed batch is retried from its start,
    here with any size, shorter ones included (the aggregator must refuse those it cannot finish)."""
    position = 0
    while position < len(stream):
        size = rng.randint(1, 40)
        batch = [Record(seq, scope, event) for seq, scope, event in stream[position : position + size]]
        try:
            aggregator.apply("stream-1", batch)
        except (TimeoutError, ChunkOutrunsBatch):
            continue
        position += len(batch)


event_strategy = st.tuples(
    st.integers(0, 30),  # transaction id (small pool: many repeats)
    st.sampled_from(["calls", "seconds", "gb", "users", "temp", "seats"]),
    st.integers(-5, 500),
    st.integers(1, 600),  # minutes ago
)


@settings(max_examples=40, deadline=None)
@given(
    events=st.lists(event_strategy, min_size=1, max_size=80),
    cuts=st.lists(st.integers(1, 20), min_size=1, max_size=10),
    threads=st.integers(1, 4),
    seed=st.integers(0, 10_000),
)
def test_totals_equal_the_totals_of_the_distinct_events(events: list, cuts: list[int], threads: int, seed: int) -> None:
    world = World()
    props = {"calls": {}, "seconds": "s", "gb": "gb", "users": "user", "temp": "c", "seats": "d"}
    bodies = []
    for txid, code, value, minutes in events:
        field = props[code]
        measured = f"u{value % 7}" if code == "users" else abs(value) if code == "seconds" else value
        extra = {field: measured} if field else {}
        bodies.append(ev(f"t{txid}", code, minutes, **extra))
    batches, start = [], 0
    while start < len(bodies):
        size = cuts[len(batches) % len(cuts)]
        batches.append(bodies[start : start + size])
        start += size
    workers = [threading.Thread(target=lambda part=batches[i::threads]: [world.ingest.ingest(SCOPE, b) for b in part])
               for i in range(threads)]  # fmt: skip
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    rng = random.Random(seed)
    store = Flaky(rng)
    deliver(world.events.stream, UsageAggregator(store, max_races=1000), rng)

    distinct = {event.transaction_id: event for _, _, event in world.events.stream}
    assert len(distinct) == len({body["transaction_id"] for body in bodies})  # each stored once
    for code in METERS:
        mine = [e for e in distinct.values() if e.code == code]
        rows = [row for key, row in store.rows.items() if key.code == code]
        if not mine:
            assert not rows
            continue
        [row] = rows
        assert row["n"] == len(mine)
        assert row["total"] == sum((e.value for e in mine), Decimal(0))
        assert row["max"] == max(e.value for e in mine)
        assert row["latest"][1] == max(mine, key=lambda e: (e.timestamp, e.transaction_id)).value
        assert row["unique"] == (len({e.unique for e in mine}) if code == "users" else 0)
