"""Usage rules with in-memory stores: stamping, rounding, quantities, and exactly-once totals
under repeats, any split into batches and threads, retried and split stream deliveries, and
poison records parked and replayed."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.adapters.dynamodb.usage_aggregates import chunk_size
from billing.catalog.lookups import CatalogLookups
from billing.catalog.service import CatalogService, create_request
from billing.customers import CustomerCreate, CustomerService
from billing.errors import DomainRuleViolation, InvalidRequest, NotFound
from billing.scope import Scope
from billing.subscriptions.model import SubscriptionCreate
from billing.subscriptions.service import SubscriptionService
from billing.usage import schema
from billing.usage.aggregator import Record, Unapplicable, Unreadable, UsageAggregator
from billing.usage.dead_letters import DeadLetters
from billing.usage.ingest import UsageIngest
from billing.usage.stamping import Directory
from billing.usage.totals import Stored, quantity, wire
from billing.validation import parse
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
        lookups = CatalogLookups(catalog_repo)
        subscriptions = SubscriptionService(self.subscription_repo, self.customer_repo, lookups, self.clock)
        for code, meter in METERS.items():
            self.catalog.create(SCOPE, "meter", create_request("meter", {"code": code, "name": code, **meter}))
        charges = [{"meter": code, "model": "per_unit", "unit_amount": "1"} for code in METERS]
        plan = {"code": "p", "name": "P", "currency": "USD", "interval": "month", "charges": charges}
        self.catalog.create(SCOPE, "plan", create_request("plan", plan))
        self.customer = customers.create(SCOPE, CustomerCreate.model_validate({"name": "C", "external_id": "ext-1"})).id
        start = (NOW - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.sub = subscriptions.create(
            SCOPE, parse(SubscriptionCreate, {"customer": self.customer, "plan": "p", "start_date": start})
        )
        self.events = MemoryUsageEvents()
        self.grace = timedelta(hours=1)
        directory = Directory(self.customer_repo, self.subscription_repo, lookups, lambda scope, sub: [])
        self.ingest = UsageIngest(self.events, directory, lambda scope: self.grace, self.clock)


@pytest.fixture
def world() -> World:
    return World()


def ev(txid: str, code: str = "calls", minutes_ago: float = 1, customer: str = "ext-1", **props: Any) -> dict:
    stamp = (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"transaction_id": txid, "customer": customer, "code": code, "timestamp": stamp, "properties": props}


def test_accepted_events_are_stamped_with_their_subscription_period(world: World) -> None:
    result = world.ingest.ingest(
        SCOPE, schema.read_all([ev("a", "seconds", s=61), ev("b", "seconds", s=Decimal("0.5"))])
    )
    first, second = result.accepted
    assert (first.customer, first.subscription) == (world.customer, world.sub.id)
    assert (first.period_start, first.period_end) == (world.sub.current_period_start, world.sub.current_period_end)
    assert (first.value, second.value) == (Decimal(120), Decimal(60))  # started minutes, one at least


def test_events_without_timestamp_happen_now_and_strings_are_exact(world: World) -> None:
    body = {"transaction_id": "n", "customer": world.customer, "code": "gb", "properties": {"gb": "0.1"}}
    [accepted] = world.ingest.ingest(SCOPE, schema.read_all([body])).accepted
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
    result = world.ingest.ingest(SCOPE, schema.read_all([event, ev("ok")]))
    assert [e.transaction_id for e in result.accepted] == ["ok"]
    [rejected] = result.rejected
    assert (rejected.index, rejected.code, rejected.param) == (0, code, param)
    with pytest.raises((InvalidRequest, DomainRuleViolation)) as raised:
        world.ingest.ingest_one(SCOPE, schema.read_one(event))
    assert raised.value.code == code


def test_refusals_quote_at_most_the_start_of_a_huge_value(world: World) -> None:
    huge = ["x" * 900, {"k": "v" * 900}]
    result = world.ingest.ingest(
        SCOPE, schema.read_all([ev("a", code="c" * 900), ev("b", "seconds", s=huge), ev("t" * 900)])
    )
    code, prop, txid = result.rejected
    assert (code.param, prop.param, txid.param) == ("code", "properties.s", "transaction_id")
    assert all(len(r.message) <= 300 and "..." in r.message for r in result.rejected), result.rejected
    assert (code.transaction_id, txid.transaction_id) == ("a", None)  # an id beyond the contract is not echoed


def test_a_closed_period_refuses_late_events_after_the_grace_period(world: World) -> None:
    world.clock.advance(days=25)  # the subscription's first period ended 5 days ago
    late = ev("late", minutes_ago=-25 * 24 * 60 + 6 * 24 * 60)  # 6 days before the new now
    assert world.ingest.ingest(SCOPE, schema.read_all([late])).rejected[0].code == "period_closed"
    world.grace = timedelta(days=7)
    assert len(world.ingest.ingest(SCOPE, schema.read_all([late])).accepted) == 1


def test_weighted_sum_is_the_time_weighted_level() -> None:
    period = ("2026-03-01T00:00:00Z", "2026-03-11T00:00:00Z")  # 10 days
    # level 3 carried in; +4 on day 5 (weighted 5 of 10 days)
    stored = Stored(code="seats", group={}, aggregation="weighted_sum", total=Decimal(4), wsum=Decimal(4 * 5 * 86400))
    assert wire(quantity(stored, period, level_before=Decimal(3))) == "5"


def test_wire_never_uses_exponents() -> None:
    assert [wire(Decimal(x)) for x in ("1E+2", "12.500", "0.000001", "-3")] == ["100", "12.5", "0.000001", "-3"]


def test_chunks_stay_within_a_transaction(world: World) -> None:
    events = [ev(f"u{i}", "users", user=f"user-{i}") for i in range(250)]
    stamped = world.ingest.ingest(SCOPE, schema.read_all(events)).accepted
    assert chunk_size([(SCOPE, event) for event in stamped]) == 89  # one aggregate plus 89 distinct values = 90 items


def test_a_batch_ending_inside_a_committed_chunk_leaves_its_rest_to_the_next_batch(world: World) -> None:
    stamped = world.ingest.ingest(SCOPE, schema.read_all([ev(f"c{i}") for i in range(4)])).accepted
    records = [Record(str(i), SCOPE, event) for i, event in enumerate(stamped)]
    store = MemoryAggregates()
    UsageAggregator(store).apply("s", records)  # one chunk of 4, then (say) the function crashed
    for half in (records[:2], records[2:]):  # Lambda splits the batch and delivers its halves
        assert UsageAggregator(store).apply("s", half).settled == len(half)
    UsageAggregator(store).apply("s", records[2:])  # the second half delivered again
    [row] = store.rows.values()
    assert row["n"] == 4


class Poisoned(MemoryAggregates):
    """Refuses every chunk holding one of the ``poison`` records, as DynamoDB refuses a write
    it can never take (a key too large)."""

    def __init__(self, poison: set[str]) -> None:
        super().__init__()
        self.poison = poison

    def commit(self, claim: Any, deltas: Any, new_values: Any) -> None:
        if self.poison & set(claim.sequences):
            raise Unapplicable("Aggregated size of all range keys has exceeded the size limit of 1024 bytes")
        super().commit(claim, deltas, new_values)


def test_a_poison_record_is_parked_once_and_the_others_count(world: World) -> None:
    stamped = world.ingest.ingest(SCOPE, schema.read_all([ev(f"p{i}") for i in range(9)])).accepted
    records = [Record(str(i), SCOPE, event) for i, event in enumerate(stamped)]
    unreadable = Record("9", None, Unreadable(None, "KeyError: 'scope'"))
    store = Poisoned({"5"})
    progress = UsageAggregator(store).apply("s", [*records, unreadable])
    assert progress.settled == 10 and progress.error is None
    assert sorted((p.sequence, p.transaction_id) for p in progress.parked) == [("5", "p5"), ("9", None)]
    assert "1024 bytes" in progress.parked[0].error
    [row] = store.rows.values()
    assert row["n"] == 8
    assert UsageAggregator(store).apply("s", [*records, unreadable]).parked == []  # redelivered: parked once
    store.poison.clear()  # the cause is fixed
    dead_letters = DeadLetters(store, world.events, UsageAggregator(store))
    parked_ids = [p.id for p in sorted(dead_letters.list().data, key=lambda p: p.sequence)]
    reasons = [dead_letters.replay(parked_id) for parked_id in parked_ids]
    assert reasons[0] is None and "no stored event" in (reasons[1] or "")
    with pytest.raises(NotFound):
        dead_letters.replay(parked_ids[0])  # replayed: no longer parked
    assert row["n"] == 9
    [still] = dead_letters.list().data
    assert (still.sequence, still.attempts) == ("9", 2)


class Flaky(Poisoned):
    """Fails now and then before a commit, or after it (a timeout after the write succeeded)."""

    def __init__(self, rng: random.Random, poison: set[str]) -> None:
        super().__init__(poison)
        self.rng = rng

    def commit(self, claim: Any, deltas: Any, new_values: Any) -> None:
        if self.rng.random() < 0.2:
            raise TimeoutError("before commit")
        super().commit(claim, deltas, new_values)
        if self.rng.random() < 0.2:
            raise TimeoutError("after commit")


def deliver(stream: list, aggregator: UsageAggregator, rng: random.Random) -> None:
    """Lambda's stream semantics: batches of any size, in order; a batch that stops is retried
    from the first record the function reports, or, as after a crash, split in halves."""
    position = 0
    while position < len(stream):
        size = rng.randint(1, 40)
        pending = [stream[position : position + size]]
        while pending:
            batch = pending.pop(0)
            progress = aggregator.apply("stream-1", [Record(seq, scope, event) for seq, scope, event in batch])
            if progress.settled == len(batch):
                continue
            assert progress.error is not None
            if len(batch) > 1 and rng.random() < 0.3:
                pending[:0] = [batch[: len(batch) // 2], batch[len(batch) // 2 :]]
            else:
                pending.insert(0, batch[progress.settled :])
        position += size


event_strategy = st.tuples(
    st.integers(0, 30),  # transaction id (small pool: many repeats)
    st.sampled_from(["calls", "seconds", "gb", "users", "temp", "seats"]),
    st.integers(-5, 500),
    st.integers(1, 600),  # minutes ago
)


@settings(max_examples=100, deadline=None)
@given(
    events=st.lists(event_strategy, min_size=1, max_size=80),
    cuts=st.lists(st.integers(1, 20), min_size=1, max_size=10),
    threads=st.integers(1, 4),
    seed=st.integers(0, 10_000),
    poison=st.sets(st.integers(0, 30), max_size=4),  # transaction ids whose record the store refuses
)
def test_totals_equal_the_totals_of_the_distinct_events(
    events: list, cuts: list[int], threads: int, seed: int, poison: set[int]
) -> None:
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
    receipts: list = []
    workers = [threading.Thread(target=lambda part=batches[i::threads]: receipts.extend(
                   world.ingest.ingest(SCOPE, schema.read_all(b)) for b in part)) for i in range(threads)]  # fmt: skip
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    distinct_ids = {body["transaction_id"] for body in bodies}
    assert sum(len(receipt.accepted) for receipt in receipts) == len(distinct_ids)  # one receipt each
    assert sum(len(r.accepted) + len(r.duplicates) for r in receipts) == len(bodies)

    rng = random.Random(seed)
    stream = world.events.stream
    poisoned = {seq for seq, _, event in stream if int(event.transaction_id[1:]) in poison}
    store = Flaky(rng, set(poisoned))
    aggregator = UsageAggregator(store, max_races=1000)
    deliver(stream, aggregator, rng)

    assert sorted(p.sequence for p in store.parked.values()) == sorted(poisoned)  # each parked once
    distinct = {event.transaction_id: event for _, _, event in stream}
    assert len(distinct) == len(distinct_ids)  # each stored once
    assert_totals(store, {e.transaction_id: e for seq, _, e in stream if seq not in poisoned}, extremes=not poisoned)
    store.poison.clear()
    dead_letters = DeadLetters(store, world.events, aggregator)
    for parked in list(store.parked.values()):
        while dead_letters.replay(parked.id) is not None:  # a flaky commit: replay again
            pass
    assert not store.parked
    assert_totals(store, distinct)


def assert_totals(store: MemoryAggregates, distinct: dict, extremes: bool = True) -> None:
    """Each meter's row adds up ``distinct``; ``extremes=False`` leaves out maxima and latest
    values, which a parked record may already have raised (see the aggregator)."""
    for code in METERS:
        mine = [e for e in distinct.values() if e.code == code]
        rows = [row for key, row in store.rows.items() if key.code == code]
        if not mine:
            assert all(row["n"] == 0 for row in rows) and (rows == [] or not extremes)
            continue
        [row] = rows
        assert row["n"] == len(mine)
        assert row["total"] == sum((e.value for e in mine), Decimal(0))
        assert row["unique"] == (len({e.unique for e in mine}) if code == "users" else 0)
        if extremes:
            assert row["max"] == max(e.value for e in mine)
            assert row["latest"][1] == max(mine, key=lambda e: (e.timestamp, e.transaction_id)).value


@settings(max_examples=60, deadline=None)
@given(
    group=st.dictionaries(st.text(min_size=1, max_size=64), st.text(max_size=64) | st.none(), max_size=5),
    value=st.text(max_size=256),
)
def test_aggregate_keys_stay_within_dynamodb_limits_whatever_the_values(group: dict, value: str) -> None:
    """Three group values of 64 non-ASCII characters once made a sort key over 1,024 bytes:
    keys hold digests of the values now (the values are attributes)."""
    from billing.adapters.dynamodb.usage_aggregates import _agg_key, _level_key, _value_key
    from billing.usage.model import group_key
    from billing.usage.totals import AggregateKey

    key = AggregateKey(Scope("ten_" + "x" * 26, True), "sub_" + "y" * 26, "2026-03-01T00:00:00Z", "m" * 64,
                       group_key(group))  # fmt: skip
    for item_key in (_agg_key(key), _level_key(key), _value_key(key, value)):
        assert len(item_key["PK"].encode()) <= 2048 and len(item_key["SK"].encode()) <= 1024
    assert len(_agg_key(key)["SK"].encode()) <= 64 + 33
