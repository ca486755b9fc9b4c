"""A record the usage aggregator cannot apply stops nobody's usage: it is parked (a metric, the
`billing usage dead-letters` list) and replayed once fixed; batches the stream mapping gives
up on go to its on-failure queue as Lambda describes them, and are replayed from the stream."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from billing.adapters.dynamodb import table
from billing.adapters.dynamodb.usage_events import DynamoUsageEventStore, name, to_item
from billing.tenants import TenantService
from infra.local.plumbing import StreamPoller
from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api
from tests.integration.test_cli import billing
from tests.integration.test_usage_api import ago, customer_on_plan, event, quantities, usage_tariff


def usage_poller(stack: EmbeddedStack) -> StreamPoller:
    assert stack.plumbing is not None
    poller = next(p for p in stack.plumbing.pollers if "Usage" in p.name)
    assert isinstance(poller, StreamPoller)
    return poller


def send(api: Api, key: str, events: list[dict[str, Any]]) -> None:
    assert api.post("/v1/events/batch", key, {"events": events}).body["accepted"] == len(events)


def dead_letters(stack: EmbeddedStack) -> dict[str, Any]:
    listed = billing(stack, "usage", "dead-letters", "--json")
    assert listed.returncode == 0, listed.stderr
    found: dict[str, Any] = json.loads(listed.stdout)
    return found


def test_a_poison_record_between_two_tenants_parks_and_the_good_ones_count(
    stack: EmbeddedStack, api: Api, key: str, other_key: str, tenants: TenantService, capsys: pytest.CaptureFixture[str]
) -> None:
    customers = {}
    for k in (key, other_key):
        usage_tariff(api, k)
        customers[k] = customer_on_plan(api, k, ago(days=2))["customer"]
    send(api, key, [event(f"a-{i}", customers[key], "water_m3", m3=i) for i in range(1, 6)])  # 15
    scope = tenants.authenticate(f"Bearer {key}")
    good = DynamoUsageEventStore().get(scope, "a-1")
    assert good is not None
    ddb = boto3.client("dynamodb")
    oversized = {**to_item(scope, good), "PK": f"{scope.key}#UEV#poison-1", "transaction_id": "poison-1",
                 "code": "m" * 1100, "value": 100}  # fmt: skip  # its total's key: over 1,024 bytes
    ddb.put_item(TableName=name(), Item=table.encode(oversized))
    unreadable = {"PK": f"{scope.key}#UEV#poison-2", "SK": "UEV", "scope": scope.key, "transaction_id": "poison-2"}
    ddb.put_item(TableName=name(), Item=table.encode(unreadable))
    send(api, other_key, [event(f"b-{i}", customers[other_key], "water_m3", m3=10 * i) for i in range(1, 4)])  # 60
    send(api, key, [event(f"a-{i}", customers[key], "water_m3", m3=i) for i in range(6, 8)])  # 13
    capsys.readouterr()
    stack.plumbing.drain()

    assert quantities(api, key, customers[key])["water_m3"]["quantity"] == "28"
    assert quantities(api, other_key, customers[other_key])["water_m3"]["quantity"] == "60"
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"UsageRecordsParked"' in line]
    assert sum(sum(m["UsageRecordsParked"]) for m in metrics) == 2
    parked = {p["transaction_id"]: p for p in dead_letters(stack)["parked"] if p["scope"] == scope.key}
    assert set(parked) == {"poison-1", "poison-2"}
    assert "1024 bytes" in parked["poison-1"]["error"] and "unreadable" in parked["poison-2"]["error"]

    still = billing(stack, "usage", "replay", parked["poison-2"]["id"])  # not fixed yet
    assert still.returncode == 1 and "stored event cannot be read" in still.stdout
    ddb.put_item(TableName=name(), Item=table.encode({**oversized, "code": "water_m3"}))  # the operator fixes them
    fixed = {**oversized, "PK": unreadable["PK"], "transaction_id": "poison-2", "code": "water_m3", "value": 1000}
    ddb.put_item(TableName=name(), Item=table.encode(fixed))
    replayed = billing(stack, "usage", "replay", parked["poison-1"]["id"], parked["poison-2"]["id"])
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert replayed.stdout.count("counted") == 2
    assert quantities(api, key, customers[key])["water_m3"]["quantity"] == "1128"
    again = billing(stack, "usage", "replay", parked["poison-1"]["id"])  # replayed: gone, counted once
    assert again.returncode == 1 and "not counted: no such parked record" in again.stdout
    assert quantities(api, key, customers[key])["water_m3"]["quantity"] == "1128"
    assert not [p for p in dead_letters(stack)["parked"] if p["scope"] == scope.key]


def test_batches_out_of_retries_are_described_to_the_queue_and_replayed(
    stack: EmbeddedStack, api: Api, key: str
) -> None:
    usage_tariff(api, key)
    cus = customer_on_plan(api, key, ago(days=2))["customer"]
    send(api, key, [event(f"ok-{i}", cus, "water_m3", m3=1) for i in range(3)])
    stack.plumbing.drain()
    poller = usage_poller(stack)
    handler, retries = poller._handler, poller._max_retries

    def crash(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("the function crashed")

    poller._handler, poller._max_retries = crash, 1  # one retry, then the queue
    try:
        send(api, key, [event(f"lost-{i}", cus, "water_m3", m3=10) for i in range(4)])
        stack.plumbing.drain()
    finally:
        poller._handler, poller._max_retries = handler, retries
    assert quantities(api, key, cus)["water_m3"]["quantity"] == "3"

    batches = dead_letters(stack)["failed_batches"]
    assert len(batches) == 4  # split in halves down to single records, each out of retries
    assert {b["condition"] for b in batches} == {"RetryAttemptsExhausted"} and {b["size"] for b in batches} == {1}
    assert all(b["stream_arn"] == poller.stream_arn and b["first"] == b["last"] for b in batches)
    replayed = billing(stack, "usage", "replay", *[b["message_id"] for b in batches])
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert quantities(api, key, cus)["water_m3"]["quantity"] == "43"
    assert dead_letters(stack)["failed_batches"] == []
    assert billing(stack, "usage", "replay", batches[0]["message_id"]).returncode == 1  # gone
