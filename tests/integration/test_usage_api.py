"""Usage through the HTTP API against the embedded endpoint: ingest, dedupe, rejections,
aggregation through the usage stream, usage read, event listing, meter readings."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from billing.adapters.dynamodb.usage_events import DynamoUsageEventStore
from billing.tenants import TenantService
from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


METERS = [
    {"code": "api_calls", "name": "API calls", "aggregation": "count", "group_by": ["region"]},
    {"code": "call_seconds", "name": "Calls", "aggregation": "sum", "field": "seconds",
     "rounding": {"increment": 60, "minimum": 60}},
    {"code": "storage_gb", "name": "Storage", "aggregation": "max", "field": "gb"},
    {"code": "users", "name": "Active users", "aggregation": "unique_count", "field": "user"},
    {"code": "temperature", "name": "Temperature", "aggregation": "latest", "field": "celsius"},
    {"code": "seats", "name": "Seats", "aggregation": "weighted_sum", "field": "delta"},
    {"code": "water_m3", "name": "Water", "aggregation": "sum", "field": "m3"},
]  # fmt: skip


def usage_tariff(api: Api, key: str, interval: str = "month") -> None:
    for meter in METERS:
        assert api.post("/v1/meters", key, meter).status == 201
    charges = [{"meter": m["code"], "model": "per_unit", "unit_amount": "1"} for m in METERS]
    plan = {"code": "metered", "name": "Metered", "currency": "USD", "interval": interval, "charges": charges}
    assert api.post("/v1/plans", key, plan).status == 201


def customer_on_plan(api: Api, key: str, start: str, external_id: str | None = None) -> dict[str, Any]:
    body = {"name": "Usage Co", **({"external_id": external_id} if external_id else {})}
    customer = api.post("/v1/customers", key, body).body
    sub = api.post("/v1/subscriptions", key, {"customer": customer["id"], "plan": "metered", "start_date": start})
    assert sub.status == 201, sub.body
    return {"customer": customer["id"], "subscription": sub.body}


def event(txid: str, customer: str, code: str, **properties: Any) -> dict[str, Any]:
    timestamp = properties.pop("timestamp", ago(minutes=1))
    return {"transaction_id": txid, "customer": customer, "code": code, "timestamp": timestamp,
            "properties": properties}  # fmt: skip


def quantities(api: Api, key: str, customer: str, **query: str) -> dict[str, Any]:
    suffix = "&".join(f"{k}={v}" for k, v in query.items())
    reply = api.get(f"/v1/customers/{customer}/usage{'?' + suffix if suffix else ''}", key)
    assert reply.status == 200, reply.body
    return {m["code"]: m for m in reply.body["meters"]}


def test_events_count_once_and_every_aggregation_adds_up(stack: EmbeddedStack, api: Api, key: str) -> None:
    usage_tariff(api, key)
    who = customer_on_plan(api, key, ago(days=2), external_id="acme-1")
    cus = who["customer"]
    single = event("tx-1", "acme-1", "api_calls", region="eu")
    assert api.post("/v1/events", key, single).status == 202
    again = api.post("/v1/events", key, single)
    assert (again.status, again.body["status"]) == (200, "duplicate")
    batch = [
        event("tx-1", cus, "api_calls", region="eu"),  # sent before
        event("tx-2", cus, "api_calls", region="us"),
        event("tx-2", cus, "api_calls", region="us"),  # twice in the batch
        event("tx-3", cus, "api_calls"),
        event("c-1", cus, "call_seconds", seconds=61),  # two started minutes
        event("c-2", cus, "call_seconds", seconds="5.5"),  # the minimum: one minute
        event("s-1", cus, "storage_gb", gb=12.5),
        event("s-2", cus, "storage_gb", gb=7),
        event("u-1", cus, "users", user="ann"),
        event("u-2", cus, "users", user="bob"),
        event("u-3", cus, "users", user="ann"),
        event("t-1", cus, "temperature", celsius=20, timestamp=ago(hours=2)),
        event("t-2", cus, "temperature", celsius=18, timestamp=ago(hours=1)),
        event("t-3", cus, "temperature", celsius=30, timestamp=ago(hours=3)),  # late, not the latest
        event("w-1", cus, "water_m3", m3="0.125"),
    ]
    result = api.post("/v1/events/batch", key, {"events": batch})
    assert result.status == 200, result.body
    assert (result.body["accepted"], result.body["duplicates"], result.body["rejected"]) == (13, 2, [])
    stack.plumbing.drain()
    usage = quantities(api, key, cus)
    assert usage["api_calls"]["quantity"] == "3"
    groups = {g["group"]["region"]: g["quantity"] for g in usage["api_calls"]["groups"]}
    assert groups == {"eu": "1", "us": "1", None: "1"}
    assert usage["call_seconds"]["quantity"] == "180"
    assert usage["storage_gb"]["quantity"] == "12.5"
    assert usage["users"]["quantity"] == "2"
    assert usage["temperature"]["quantity"] == "18"
    assert usage["water_m3"]["quantity"] == "0.125"
    assert usage["seats"]["quantity"] == "0"  # charged by the plan, no events yet

    resent = api.post("/v1/events/batch", key, {"events": batch})
    assert (resent.body["accepted"], resent.body["duplicates"]) == (0, 15)
    stack.plumbing.drain()
    assert quantities(api, key, cus)["api_calls"]["quantity"] == "3"


def test_weighted_sum_bills_the_time_weighted_level(stack: EmbeddedStack, api: Api, key: str) -> None:
    usage_tariff(api, key, interval="day")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=12)
    who = customer_on_plan(api, key, start.strftime("%Y-%m-%dT%H:%M:%SZ"))
    sub = who["subscription"]
    period_start = datetime.fromisoformat(sub["current_period_start"])
    period_end = datetime.fromisoformat(sub["current_period_end"])
    quarter = period_start + (period_end - period_start) / 4
    stamp = quarter.strftime("%Y-%m-%dT%H:%M:%SZ")
    sent = [event("seat-1", who["customer"], "seats", delta=4, timestamp=sub["current_period_start"]),
            event("seat-2", who["customer"], "seats", delta=-2, timestamp=stamp)]  # fmt: skip
    assert api.post("/v1/events/batch", key, {"events": sent}).body["accepted"] == 2
    stack.plumbing.drain()
    # 4 seats for the first quarter, 2 for the rest: 4 * 0.25 + 2 * 0.75
    assert quantities(api, key, who["customer"])["seats"]["quantity"] == "2.5"


@pytest.mark.parametrize(
    ("change", "code", "param"),
    [
        ({"customer": "nobody"}, "customer_not_found", "customer"),
        ({"code": "no_such_meter"}, "meter_not_found", "code"),
        ({"timestamp": ago(days=36)}, "timestamp_too_old", "timestamp"),
        ({"timestamp": ago(minutes=-60)}, "timestamp_in_future", "timestamp"),
        ({"timestamp": ago(days=5)}, "before_subscription_start", "timestamp"),
        ({"code": "call_seconds", "properties": {}}, "property_missing", "properties.seconds"),
        ({"code": "call_seconds", "properties": {"seconds": "ten"}}, "property_not_numeric", "properties.seconds"),
        ({"transaction_id": ""}, "parameter_invalid", "transaction_id"),
        ({"color": "red"}, "parameter_unknown", "color"),
        ({"timestamp": "yesterday"}, "parameter_invalid", "timestamp"),
        ({"properties": {"nested": {"a": 1}}}, "parameter_invalid", "properties.nested"),
    ],
)
def test_every_rejection_names_its_code_and_field(
    stack: EmbeddedStack, api: Api, key: str, change: dict[str, Any], code: str, param: str
) -> None:
    usage_tariff(api, key)
    who = customer_on_plan(api, key, ago(days=2))
    bad = {**event("bad-1", who["customer"], "api_calls"), **change}
    good = event("good-1", who["customer"], "api_calls")
    result = api.post("/v1/events/batch", key, {"events": [good, bad]})
    assert result.body["accepted"] == 1
    [rejected] = result.body["rejected"]
    assert (rejected["index"], rejected["error"]["code"], rejected["error"]["param"]) == (1, code, param)
    single = api.post("/v1/events", key, bad)
    assert single.status in (400, 422) and single.body["error"]["code"] == code
    stack.plumbing.drain()
    assert quantities(api, key, who["customer"])["api_calls"]["quantity"] == "1"


def test_customer_without_subscription_and_batch_limits(api: Api, key: str) -> None:
    usage_tariff(api, key)
    lonely = api.post("/v1/customers", key, {"name": "No plan"}).body["id"]
    refused = api.post("/v1/events", key, event("x", lonely, "api_calls"))
    assert (refused.status, refused.body["error"]["code"]) == (422, "no_subscription")
    too_many = api.post("/v1/events/batch", key, {"events": [event(f"e{i}", lonely, "api_calls") for i in range(1001)]})
    assert (too_many.status, too_many.body["error"]["code"]) == (400, "batch_too_large")
    huge = {"events": [event("big", lonely, "api_calls", note="x" * 200) for _ in range(900)], "pad": "y" * 900_000}
    too_big = api.post("/v1/events/batch", key, huge)
    assert (too_big.status, too_big.body["error"]["code"]) == (413, "payload_too_large")
    assert api.post("/v1/events/batch", key, {"events": []}).status == 400


def test_late_events_count_only_within_the_grace_period(stack: EmbeddedStack, api: Api, key: str) -> None:
    usage_tariff(api, key, interval="day")
    who = customer_on_plan(api, key, ago(days=3))
    late = event("late-1", who["customer"], "api_calls", timestamp=ago(days=2))
    closed = api.post("/v1/events", key, late)
    assert (closed.status, closed.body["error"]["code"]) == (422, "period_closed")
    assert api.get("/v1/settings", key).body["grace_period"] == 3600
    assert api.patch("/v1/settings", key, {"grace_period": 3 * 86400}).body["grace_period"] == 3 * 86400
    assert api.post("/v1/events", key, late).status == 202
    refused = api.patch("/v1/settings", key, {"grace_period": -1})
    assert (refused.status, refused.body["error"]["param"]) == (400, "grace_period")


def test_events_are_listed_newest_first_by_customer(stack: EmbeddedStack, api: Api, key: str, other_key: str) -> None:
    usage_tariff(api, key)
    who = customer_on_plan(api, key, ago(days=2))
    cus = who["customer"]
    sent = [event(f"l-{i}", cus, "api_calls" if i % 2 else "users", user=str(i), timestamp=ago(minutes=30 - i))
            for i in range(25)]  # fmt: skip
    assert api.post("/v1/events/batch", key, {"events": sent}).body["accepted"] == 25
    stack.plumbing.drain()  # events are listed once the aggregator has applied them
    seen, cursor = [], None
    while True:
        page = api.get(f"/v1/events?customer={cus}&limit=10" + (f"&starting_after={cursor}" if cursor else ""), key)
        assert page.status == 200, page.body
        seen += [e["transaction_id"] for e in page.body["data"]]
        if not page.body["has_more"]:
            break
        cursor = seen[-1]
    assert seen == [f"l-{i}" for i in reversed(range(25))]
    calls = api.get(f"/v1/events?customer={cus}&code=api_calls&limit=100", key).body["data"]
    assert [e["transaction_id"] for e in calls] == [f"l-{i}" for i in reversed(range(25)) if i % 2]
    window = api.get(f"/v1/events?customer={cus}&from={ago(minutes=10, seconds=30)}&limit=100", key).body["data"]
    assert {e["transaction_id"] for e in window} == {f"l-{i}" for i in range(20, 25)}
    assert api.get("/v1/events", key).body["error"]["param"] == "customer"
    assert api.get(f"/v1/events?customer={cus}", other_key).status == 404


def test_meter_readings_become_consumption(stack: EmbeddedStack, api: Api, key: str) -> None:
    usage_tariff(api, key)
    who = customer_on_plan(api, key, ago(days=10))
    cus = who["customer"]

    def read(reading_id: str, value: str, hours_ago: float, **flags: Any) -> Any:
        body = {"customer": cus, "meter": "water_m3", "reading": value, "timestamp": ago(hours=hours_ago),
                "reading_id": reading_id, **flags}  # fmt: skip
        return api.post("/v1/meter_readings", key, body)

    assert read("r1", "100.5", 50).body["status"] == "baseline"
    second = read("r2", "110", 40)
    assert (second.status, second.body["consumption"]) == (201, "9.5")
    assert read("r2", "110", 40).body["status"] == "duplicate"
    lower = read("r3", "90", 30)
    assert (lower.status, lower.body["error"]["code"]) == (422, "reading_decreased")
    assert read("r3", "90", 30, rollover=True, counter_max="120").body["consumption"] == "100"
    assert read("r4", "3", 20, meter_replaced=True).body["consumption"] == "3"
    old = read("r5", "10", 45)
    assert (old.status, old.body["error"]["code"]) == (422, "reading_out_of_order")
    not_cumulative = api.post("/v1/meter_readings", key, {"customer": cus, "meter": "users", "reading": "1",
                                                          "timestamp": ago(hours=1), "reading_id": "u"})  # fmt: skip
    assert not_cumulative.body["error"]["code"] == "meter_not_cumulative"
    stack.plumbing.drain()
    assert quantities(api, key, cus)["water_m3"]["quantity"] == "112.5"


def test_parallel_overlapping_batches_count_each_transaction_once(stack: EmbeddedStack, api: Api, key: str) -> None:
    usage_tariff(api, key)
    cus = customer_on_plan(api, key, ago(days=2))["customer"]
    replies: list[Any] = []

    def send(first: int) -> None:
        for start in range(first, first + 150, 50):
            batch = [event(f"p-{i}", cus, "water_m3", m3=i) for i in range(start, start + 50)]
            replies.append(api.post("/v1/events/batch", key, {"events": batch}))

    threads = [threading.Thread(target=send, args=(first,)) for first in (0, 50, 100, 150)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(reply.status == 200 for reply in replies)
    assert sum(r.body["accepted"] + r.body["duplicates"] for r in replies) == 600
    stack.plumbing.drain()
    usage = quantities(api, key, cus)["water_m3"]
    assert usage["quantity"] == str(sum(range(300)))


def test_a_redelivered_stream_batch_adds_nothing(stack: EmbeddedStack, api: Api, key: str) -> None:
    usage_tariff(api, key)
    cus = customer_on_plan(api, key, ago(days=2))["customer"]
    sent = [event(f"r-{i}", cus, "users", user=f"user-{i % 5}") for i in range(30)]
    sent += [event(f"m-{i}", cus, "water_m3", m3=2) for i in range(30)]
    assert api.post("/v1/events/batch", key, {"events": sent}).body["accepted"] == 60
    stack.plumbing.drain()
    before = quantities(api, key, cus)
    assert (before["users"]["quantity"], before["water_m3"]["quantity"]) == ("5", "60")

    poller = next(p for p in stack.plumbing.pollers if "Usage" in p.name)
    streams = boto3.client("dynamodbstreams", endpoint_url=stack.endpoint_url, region_name="us-east-1")
    arn = poller.stream_arn
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
    mine = [{**r, "eventSourceARN": arn} for r in records if r["dynamodb"]["NewImage"]["customer"]["S"] == cus]
    for batch in (mine, mine[:7]):  # a retried batch starts where the failed one started
        assert poller.invoke(batch) in ([], batch[:1])
    after = quantities(api, key, cus)
    assert (after["users"]["quantity"], after["water_m3"]["quantity"]) == ("5", "60")


def test_concurrent_clients_get_one_receipt_per_transaction(stack: EmbeddedStack, api: Api, key: str) -> None:
    """Four clients send the same events, each split its own way: each transaction id is
    `accepted` once over all answers (the write that won), a duplicate everywhere else."""
    usage_tariff(api, key)
    cus = customer_on_plan(api, key, ago(days=2))["customer"]
    events = [event(f"rc-{i}", cus, "water_m3", m3=i) for i in range(240)]
    replies: list[Any] = []

    def send(size: int, reverse: bool) -> None:
        batches = [events[start : start + size] for start in range(0, len(events), size)]
        for batch in reversed(batches) if reverse else batches:
            replies.append(api.post("/v1/events/batch", key, {"events": batch}))

    splits = [(40, False), (60, True), (80, False), (120, True)]
    threads = [threading.Thread(target=send, args=split) for split in splits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(reply.status == 200 for reply in replies)
    assert sum(reply.body["accepted"] for reply in replies) == 240
    assert sum(reply.body["duplicates"] for reply in replies) == 3 * 240
    stack.plumbing.drain()
    assert quantities(api, key, cus)["water_m3"]["quantity"] == str(sum(range(240)))


def test_an_event_is_never_overwritten(api: Api, key: str, tenants: TenantService) -> None:
    usage_tariff(api, key)
    cus = customer_on_plan(api, key, ago(days=2))["customer"]
    scope = tenants.authenticate(f"Bearer {key}")
    assert api.post("/v1/events", key, event("race-1", cus, "water_m3", m3=5)).status == 202
    store = DynamoUsageEventStore()
    first = store.get(scope, "race-1")
    assert first is not None
    assert store.put_new(scope, [dataclasses.replace(first, value=Decimal(7))]) == set()  # a racing duplicate
    kept = store.get(scope, "race-1")
    assert kept is not None and kept.value == Decimal(5)


def test_long_non_ascii_group_values_count(stack: EmbeddedStack, api: Api, key: str) -> None:
    """Three group values of 64 non-ASCII characters made an aggregate key over DynamoDB's
    1,024 bytes: the event was accepted and its total never written. Keys hold digests now."""
    meter = {"code": "intl_calls", "name": "Calls", "aggregation": "count", "group_by": ["city", "route", "note"]}
    assert api.post("/v1/meters", key, meter).status == 201
    visitors = {"code": "visitors", "name": "Visitors", "aggregation": "unique_count", "field": "name",
                "group_by": ["city"]}  # fmt: skip
    assert api.post("/v1/meters", key, visitors).status == 201
    charges = [{"meter": code, "model": "per_unit", "unit_amount": "1"} for code in ("intl_calls", "visitors")]
    plan = {"code": "metered", "name": "Intl", "currency": "USD", "interval": "month", "charges": charges}
    assert api.post("/v1/plans", key, plan).status == 201
    cus = customer_on_plan(api, key, ago(days=2))["customer"]
    group = {"city": "Москва" * 10 + "ёжик", "route": "東京" * 32, "note": "é" * 64}
    name = "Наталья" * 36  # 252 characters, 504 bytes: a distinct value, hashed into its marker's key
    sent = [event("g-1", cus, "intl_calls", **group), event("g-2", cus, "intl_calls", **group),
            event("v-1", cus, "visitors", city=group["city"], name=name),
            event("v-2", cus, "visitors", city=group["city"], name=name)]  # fmt: skip
    assert api.post("/v1/events/batch", key, {"events": sent}).body["accepted"] == 4
    too_long = api.post("/v1/events", key, event("g-3", cus, "intl_calls", **{**group, "note": "é" * 129}))
    assert (too_long.status, too_long.body["error"]["code"]) == (422, "property_out_of_range")
    assert too_long.body["error"]["param"] == "properties.note" and "256 bytes" in too_long.body["error"]["message"]
    stack.plumbing.drain()
    usage = quantities(api, key, cus)
    assert usage["intl_calls"]["quantity"] == "2"
    assert usage["intl_calls"]["groups"] == [{"group": group, "quantity": "2"}]
    assert usage["visitors"]["groups"] == [{"group": {"city": group["city"]}, "quantity": "1"}]
