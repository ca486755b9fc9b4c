"""Prepaid ingestion against postpaid ingestion, in the same run, through the same API.

One embedded stack (as ``bench/ingest.py``: the moto server in a process of its own, every
resource of template.yaml, the API over HTTP, the stream consumers running). A demo tenant gets
a ``sum`` meter priced per unit at a fraction of a cent, ``CUSTOMERS`` postpaid and
``CUSTOMERS`` prepaid customers on it (the prepaid ones topped up by an offline payment, far
more than they will spend). The same number of events (``EVENTS``, distinct transaction ids)
go through ``POST /v1/events/batch`` in batches of ``BATCH`` from ``CLIENTS`` concurrent HTTP
clients: first the postpaid customers', then the prepaid customers'.

Figures:
- ``postpaid_events_per_s``, ``prepaid_events_per_s``: events per second through the API.
- ``ratio_to_postpaid``: prepaid / postpaid. A postpaid event is one PartiQL ``INSERT`` among 25
  per request; a prepaid event is one ``TransactWriteItems`` of three items (the raw event, the
  meter's running state, the balance) of its own, to a server that serves one request at a
  time (the balance and running state are read only when the container's last view of them is
  missing or stale), and a transaction costs DynamoDB two writes per item: the ratio is what
  exact, overdraft-free real-time charging costs on this endpoint.
- ``debit_drift``: the prepaid customers' debits as the balances hold them, less the price of
  their events rated as the statement rates them (must be 0).
"""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench._emulator import emulator, free_port
from bench.ingest import Client

EVENTS = int(os.environ.get("BENCH_PREPAID_EVENTS", 4_000))
BATCH = 100
CLIENTS = 4
CUSTOMERS = 10
UNIT_AMOUNT = "0.013"
TOP_UP = 10**12


def _batches(customers: list[str], tag: str) -> tuple[list[list[dict[str, Any]]], dict[str, int]]:
    """``EVENTS`` events spread over ``customers``, in batches, and each customer's sum of values."""
    rng = random.Random(11)
    now = datetime.now(UTC)
    sums = dict.fromkeys(customers, 0)
    events = []
    for i in range(EVENTS):
        customer, value = customers[i % len(customers)], rng.randint(1, 1000)
        sums[customer] += value
        stamp = (now - timedelta(seconds=rng.randint(60, 3600))).strftime("%Y-%m-%dT%H:%M:%SZ")
        events.append({"transaction_id": f"{tag}-{i:07d}", "customer": customer, "code": "traffic",
                       "timestamp": stamp, "properties": {"bytes": value}})  # fmt: skip
    return [events[i : i + BATCH] for i in range(0, len(events), BATCH)], sums


def _send(port: int, key: str, batches: list[list[dict[str, Any]]]) -> tuple[float, int]:
    """Send the batches from ``CLIENTS`` clients: the events per second, and how many were accepted."""

    def send(worker: int) -> list[Any]:
        client = Client(port, key)
        return [client.call("POST", "/v1/events/batch", {"events": b}) for b in batches[worker::CLIENTS]]

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [result for part in pool.map(send, range(CLIENTS)) for result in part]
    elapsed = time.perf_counter() - started
    return sum(len(b) for b in batches) / elapsed, sum(r["accepted"] for r in results)


def run() -> dict[str, float | int | str]:
    with emulator() as endpoint:
        return _run(endpoint)


def _run(endpoint: str) -> dict[str, float | int | str]:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from billing.adapters import services
    from billing.decimals import to_minor
    from infra.local.stack import EmbeddedStack, StackConfig

    stack = EmbeddedStack(StackConfig(endpoint_url=endpoint, api_port=free_port(), stack_name="bench-prepaid"))
    stack.start()
    try:
        key = services.tenants().create_tenant("Bench prepaid")[1].secret
        setup = Client(stack.config.api_port, key)
        meter = {"code": "traffic", "name": "Traffic", "aggregation": "sum", "field": "bytes"}
        setup.call("POST", "/v1/meters", meter)
        charges = [{"meter": "traffic", "model": "per_unit", "unit_amount": UNIT_AMOUNT}]
        plan = {"code": "traffic", "name": "Traffic", "currency": "USD", "interval": "month", "charges": charges}
        setup.call("POST", "/v1/plans", plan)
        start = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        customers: dict[str, list[str]] = {"postpaid": [], "prepaid": []}
        for mode, found in customers.items():
            for n in range(CUSTOMERS):
                cus = setup.call("POST", "/v1/customers", {"name": f"{mode} {n}", "billing_mode": mode})["id"]
                setup.call("POST", "/v1/subscriptions", {"customer": cus, "plan": "traffic", "start_date": start})
                if mode == "prepaid":
                    paid = {"customer": cus, "amount": TOP_UP, "currency": "USD", "channel": "bank_transfer"}
                    setup.call("POST", "/v1/payments", paid)
                found.append(cus)
        postpaid, _ = _batches(customers["postpaid"], "post")
        prepaid, sums = _batches(customers["prepaid"], "pre")
        postpaid_rate, postpaid_accepted = _send(stack.config.api_port, key, postpaid)
        prepaid_rate, prepaid_accepted = _send(stack.config.api_port, key, prepaid)
        debited = sum(TOP_UP - setup.call("GET", f"/v1/customers/{c}/balance")["prepaid"]["balance"] for c in sums)
        priced = sum(to_minor(Decimal(total) * Decimal(UNIT_AMOUNT)) for total in sums.values())
        return {
            "postpaid_events_per_s": round(postpaid_rate),
            "prepaid_events_per_s": round(prepaid_rate),
            "ratio_to_postpaid": round(prepaid_rate / postpaid_rate, 3),
            "accepted": f"{postpaid_accepted}/{prepaid_accepted}",
            "debit_drift": debited - priced,
        }
    finally:
        stack.stop()
