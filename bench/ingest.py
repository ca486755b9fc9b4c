"""Usage ingestion through the API path, against raw ``BatchWriteItem`` on the same endpoint.

One embedded stack (the moto server, every resource of template.yaml, the API served over
HTTP on a free port, the stream consumers running as in ``make run``). The moto server runs
in a process of its own (``bench/_emulator.py``). A demo tenant gets a
``sum`` meter, a plan and ``CUSTOMERS`` subscribed customers; then ``EVENTS`` events
(``DUPLICATE_SHARE`` of them resent transaction ids) go through ``POST /v1/events/batch``
in batches of ``BATCH`` from ``CLIENTS`` concurrent HTTP clients. The baseline writes the
same number of items of the same size with plain ``BatchWriteItem`` (25 per request) from
one process into a scratch table of the same endpoint.

Figures:
- ``events_per_s``: events sent through the API per second (duplicates included).
- ``raw_batch_write_items_per_s``: the baseline's items per second.
- ``ratio_to_raw``: ours / raw (target >= 0.6).
- ``write_units_per_event``: DynamoDB write units of every request our code made (API and
  aggregator, counted from the requests by ``bench/_capacity.py``, once the figures are taken:
  the counting's CPU stays out of the time measured, as the baseline counts nothing) per
  accepted event (target <= 1.5).
- ``duplicates_counted``: the usage total minus the sum of the distinct events (must be 0),
  read once the aggregator has caught up.
- ``aggregation_lag_s``: seconds from the last API answer until the totals were complete.

How fair the baseline is. Both sides write the same item (the baseline copies a stored event,
attribute for attribute), 25 items a request, to the same server. They differ where the design
does: our table has a stream, which the aggregator reads, and the scratch table has none;
moto builds a stream record with each write, a fifth more CPU per write (DynamoDB makes no
writer wait for it). The raw writer is one client, as a plain loader would be; with four
client threads (overlapping its own serializing with the server's work, as our four clients
do) it writes about 30% more, and the ratio against that would be as much lower. The API's
process also runs the stream consumers, as ``make run`` does (on AWS each is a Lambda of its
own): they share its interpreter lock, and the server's one-request lock.

The floor. moto serves one request at a time, so its CPU per event bounds the rate. Our
PartiQL ``INSERT`` costs what a raw write into a streamed table costs (0.54 against 0.45 ms
into the scratch table); around it, the aggregator (its chunk's transaction, the stream reads,
the event lists), the subscription lookups and the other pollers add 0.2 ms: 0.67 ms of the
server's CPU per event in the send phase, against 0.44 ms per raw item. The README ("What an
ingested event costs") gives the breakdown and what lower would take.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from bench._capacity import WriteUnits
from bench._emulator import emulator, free_port

EVENTS = int(os.environ.get("BENCH_INGEST_EVENTS", 100_000))
DUPLICATE_SHARE = 0.05
BATCH = 1000
CLIENTS = 4
CUSTOMERS = 20


class Client:
    def __init__(self, port: int, key: str) -> None:
        self._port, self._key = port, key
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self._key}", "Content-Type": "application/json"}
        self._conn.request(method, path, body=data, headers=headers)
        response = self._conn.getresponse()
        payload = json.loads(response.read() or b"null")
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {payload}")
        return payload


def _events(customers: list[str]) -> tuple[list[list[dict[str, Any]]], int]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    distinct = int(EVENTS * (1 - DUPLICATE_SHARE))
    events, total = [], 0
    for i in range(distinct):
        value = rng.randint(1, 1000)
        total += value
        stamp = (now - timedelta(seconds=rng.randint(60, 3600))).strftime("%Y-%m-%dT%H:%M:%SZ")
        events.append(
            {
                "transaction_id": f"evt-{i:07d}",
                "customer": customers[i % len(customers)],
                "code": "api_traffic",
                "timestamp": stamp,
                "properties": {"bytes": value, "path": "/v1/x"},
            }
        )
    events += [dict(rng.choice(events)) for _ in range(EVENTS - distinct)]  # resends
    rng.shuffle(events)
    return [events[i : i + BATCH] for i in range(0, len(events), BATCH)], total


def _raw_baseline(endpoint: str, sample: dict[str, Any]) -> float:
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    name = f"bench-raw-{uuid.uuid4().hex[:6]}"
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    )
    started = time.perf_counter()
    for start in range(0, EVENTS, 25):
        items = [{**sample, "PK": {"S": f"raw#{i}"}} for i in range(start, min(start + 25, EVENTS))]
        ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": item}} for item in items]})
    return EVENTS / (time.perf_counter() - started)


def run() -> dict[str, float | int | str]:
    with emulator() as endpoint:
        return _run(endpoint)


def _run(endpoint: str) -> dict[str, float | int | str]:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from billing.adapters import services
    from billing.adapters.dynamodb import table
    from billing.adapters.dynamodb.usage_events import name as usage_table
    from infra.local.stack import EmbeddedStack, StackConfig

    config = StackConfig(endpoint_url=endpoint, api_port=free_port(), stack_name="bench")
    stack = EmbeddedStack(config)
    stack.start()
    try:
        key = services.tenants().create_tenant("Bench")[1].secret
        setup = Client(stack.config.api_port, key)
        setup.call(
            "POST", "/v1/meters", {"code": "api_traffic", "name": "Traffic", "aggregation": "sum", "field": "bytes"}
        )
        setup.call(
            "POST",
            "/v1/plans",
            {
                "code": "traffic",
                "name": "Traffic",
                "currency": "USD",
                "interval": "month",
                "charges": [{"meter": "api_traffic", "model": "per_unit", "unit_amount": "1"}],
            },
        )
        start = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        customers = []
        for n in range(CUSTOMERS):
            cus = setup.call("POST", "/v1/customers", {"name": f"Bench {n}"})["id"]
            setup.call("POST", "/v1/subscriptions", {"customer": cus, "plan": "traffic", "start_date": start})
            customers.append(cus)
        batches, expected_total = _events(customers)
        units = WriteUnits()
        units.attach(table.client(), deferred=True)  # counted once the figures are taken

        def send(worker: int) -> list[Any]:
            client = Client(stack.config.api_port, key)
            return [client.call("POST", "/v1/events/batch", {"events": b}) for b in batches[worker::CLIENTS]]

        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = [result for part in pool.map(send, range(CLIENTS)) for result in part]
        elapsed = time.perf_counter() - started
        answered = time.perf_counter()
        accepted = sum(r["accepted"] for r in results)
        rejected = sum(len(r["rejected"]) for r in results)
        total = _wait_for_total(setup, customers, expected_total)
        lag = time.perf_counter() - answered

        sample = table.client().scan(TableName=usage_table(), Limit=1)["Items"][0]
        raw_rate = _raw_baseline(stack.endpoint_url, sample)
        units.settle()
        ours = EVENTS / elapsed
        return {
            "events_per_s": round(ours),
            "raw_batch_write_items_per_s": round(raw_rate),
            "ratio_to_raw": round(ours / raw_rate, 2),
            "write_units_per_event": round(units.units / max(accepted, 1), 2),
            "duplicates_counted": total - expected_total,
            "accepted": accepted,
            "rejected": rejected,
            "aggregation_lag_s": round(lag, 1),
        }
    finally:
        stack.stop()


def _wait_for_total(client: Client, customers: list[str], expected: int, timeout_s: float = 600) -> int:
    deadline = time.monotonic() + timeout_s
    while True:
        total = 0
        for cus in customers:
            meters = client.call("GET", f"/v1/customers/{cus}/usage")["meters"]
            total += sum(int(m["quantity"]) for m in meters if m["code"] == "api_traffic")
        if total >= expected or time.monotonic() > deadline:
            return total
        time.sleep(0.5)
