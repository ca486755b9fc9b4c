"""Usage items as stored: each adapter's own shape, read back as written, and items of the
older shape still read."""

from __future__ import annotations

from decimal import Decimal

from billing.adapters.dynamodb import meter_readings, usage_dead_letters, usage_events, usage_listing
from billing.scope import Scope
from billing.usage.aggregator import Parked
from billing.usage.model import UsageEvent
from billing.usage.readings import ReadingState

SCOPE = Scope("ten_a", livemode=True)


def usage_event(
    txid: str = "tx#1", customer: str = "cus_1", code: str = "calls", at: str = "2026-03-15T12:30:00Z"
) -> UsageEvent:
    return UsageEvent(
        transaction_id=txid, customer=customer, code=code, timestamp=at, properties={"n": 2, "f": 0.5, "s": "x"},
        subscription="sub_1", period_start="2026-03-01T00:00:00Z", period_end="2026-04-01T00:00:00Z",
        aggregation="unique_count", value=Decimal("2.5"), group={"region": "eu"}, received_at="2026-03-15T12:30:05Z",
        unique="x",
    )  # fmt: skip


def test_an_event_reads_back_as_written_and_its_key_holds_scope_and_id() -> None:
    item = usage_events.to_item(SCOPE, usage_event())
    assert not {"scope", "transaction_id", "GSI1PK", "GSI1SK"} & set(item)
    assert usage_events.from_item(item) == (SCOPE, usage_event())


def test_an_event_stored_in_the_older_shape_still_reads() -> None:
    older = {
        **usage_events.to_item(SCOPE, usage_event()),
        "scope": SCOPE.key,
        "transaction_id": "tx#1",
        "GSI1PK": f"{SCOPE.key}#UEV#CUS#cus_1#07",
        "GSI1SK": "2026-03-15T12:30:00Z#tx#1",
    }
    assert usage_events.from_item(older) == (SCOPE, usage_event())


def test_reading_states_and_parked_records_read_back_as_written() -> None:
    state = ReadingState("cus_1", "water", "r2", Decimal("110.5"), "2026-03-15T12:00:00Z", Decimal("9.5"), "r1", 2)
    assert meter_readings.from_item(meter_readings.to_item(SCOPE, state)) == state
    parked = Parked("upk_1", "arn:stream", "42", SCOPE, "tx-1", "refused", "2026-03-15T12:00:00Z", attempts=3)
    assert usage_dead_letters.from_item(usage_dead_letters.to_item(parked)) == parked


def test_a_chunk_is_listed_per_customer_and_hour_newest_first() -> None:
    events = [
        (SCOPE, usage_event("a", at="2026-03-15T12:10:00Z")),
        (SCOPE, usage_event("b", at="2026-03-15T12:50:00Z", code="gb")),
        (SCOPE, usage_event("c", at="2026-03-15T11:59:59Z")),
        (SCOPE, usage_event("d", customer="cus_2", at="2026-03-15T12:20:00Z")),
    ]
    items = usage_listing.to_items("t1", events, expires_at=7)
    assert sorted((item["PK"], item["SK"]) for item in items) == [
        (f"{SCOPE.key}#UEVC#cus_1", "2026-03-15T11:59:59Z#c#t1"),
        (f"{SCOPE.key}#UEVC#cus_1", "2026-03-15T12:50:00Z#b#t1"),
        (f"{SCOPE.key}#UEVC#cus_2", "2026-03-15T12:20:00Z#d#t1"),
    ]
    hour = usage_listing.from_item(next(item for item in items if item["SK"].startswith("2026-03-15T12:50")))
    assert hour.newest == "2026-03-15T12:50:00Z#b"
    assert sorted(hour.entries()) == [("2026-03-15T12:10:00Z#a", "calls"), ("2026-03-15T12:50:00Z#b", "gb")]


def test_a_list_holds_at_most_its_limit_of_positions() -> None:
    many = [(SCOPE, usage_event(f"e{n:04d}", at=f"2026-03-15T12:{n // 60:02d}:{n % 60:02d}Z")) for n in range(2500)]
    items = usage_listing.to_items("t", many[: usage_listing.MAX_ENTRIES * 2 + 1], expires_at=1)
    assert [sum(len(p) for p in item["e"].values()) for item in items] == [usage_listing.MAX_ENTRIES] * 2 + [1]


def test_a_parked_record_keeps_the_start_of_a_long_error() -> None:
    parked = Parked("upk_1", "arn:stream", "42", None, None, "refused: " + "x" * 5000, "2026-03-15T12:00:00Z")
    stored = usage_dead_letters.to_item(parked)["error"]
    assert len(stored) == usage_dead_letters.ERROR_CHARS and stored.startswith("refused: ")
