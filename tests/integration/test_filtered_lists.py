"""Filtered lists read a bounded number of items per request: a rare filter value answers
early with ``has_more`` and a cursor (the last item read), and paging on it finds every match
exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from billing.adapters.dynamodb import table
from billing.adapters.dynamodb.customers import to_item
from billing.customers import Customer
from billing.ids import new_id
from billing.pagination import MAX_SCANNED
from billing.scope import Scope
from billing.tenants import TenantService
from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api
from tests.integration.test_usage_api import ago, customer_on_plan, event, usage_tariff


@pytest.fixture
def scanned() -> Iterator[list[int]]:
    """Items each DynamoDB query of the test reads (its ScannedCount), in order."""
    counts: list[int] = []

    def count(parsed: dict[str, Any], **_: Any) -> None:
        counts.append(parsed.get("ScannedCount", 0))

    events = table.client().meta.events
    events.register("after-call.dynamodb.Query", count)
    yield counts
    events.unregister("after-call.dynamodb.Query", count)


def every_page(api: Api, key: str, path: str, scanned: list[int]) -> tuple[list[str], list[int]]:
    """Ids of every page of ``path`` followed through ``next_starting_after``, and the items
    each request read."""
    ids, reads, cursor = [], [], None
    while True:
        before = len(scanned)
        page = api.get(path + (f"&starting_after={cursor}" if cursor else ""), key)
        assert page.status == 200, page.body
        reads.append(sum(scanned[before:]))
        ids += [item.get("id") or item["transaction_id"] for item in page.body["data"]]
        if not page.body["has_more"]:
            assert page.body["next_starting_after"] is None
            return ids, reads
        cursor = page.body["next_starting_after"]
        assert cursor


def test_a_rare_customer_status_is_paged_in_bounded_reads(api: Api, tenants: TenantService, scanned: list[int]) -> None:
    tenant, issued = tenants.create_tenant("Many customers")
    scope, created, rare = Scope(tenant.id, livemode=False), datetime.now(UTC), {50, 700, 1150}
    customers = [  # one millisecond apart, so ids (and the list) are in creation order
        Customer(id=new_id("cus", int(created.timestamp() * 1000) + n), livemode=False, created_at=created,
                 name=f"c{n}", status="suspended" if n in rare else "active")
        for n in range(1200)
    ]  # fmt: skip
    table.batch_put(table.table_name(), [to_item(scope, customer) for customer in customers])
    ids, reads = every_page(api, issued.secret, "/v1/customers?status=suspended&limit=10", scanned)
    assert ids == [customers[n].id for n in sorted(rare, reverse=True)]  # each once, newest first
    assert len(reads) >= 2 and max(reads) <= MAX_SCANNED  # 1,200 items, never more than the bound at once
    first = api.get("/v1/customers?status=suspended&limit=10", issued.secret).body
    assert first["has_more"] and [c["id"] for c in first["data"]] == [customers[1150].id, customers[700].id]
    assert first["next_starting_after"] == customers[1200 - MAX_SCANNED].id  # the last read, not the last shown
    plain = api.get("/v1/customers?limit=2", issued.secret).body  # unfiltered: the last shown is the cursor
    assert plain["next_starting_after"] == plain["data"][-1]["id"] == customers[-2].id


def test_events_of_a_rare_meter_are_paged_in_bounded_reads(
    stack: EmbeddedStack, api: Api, key: str, scanned: list[int]
) -> None:
    usage_tariff(api, key)
    customer = customer_on_plan(api, key, ago(days=2))["customer"]
    rare = {40, 700, 1150}
    sent = [event(f"r-{n:04d}", customer, "users" if n in rare else "api_calls", user=str(n),
                  timestamp=ago(minutes=1200 - n)) for n in range(1200)]  # fmt: skip
    for start in (0, 600):
        assert api.post("/v1/events/batch", key, {"events": sent[start : start + 600]}).body["accepted"] == 600
    stack.plumbing.drain()  # events are listed once the aggregator has applied them
    ids, reads = every_page(api, key, f"/v1/events?customer={customer}&code=users&limit=10", scanned)
    assert ids == [f"r-{n:04d}" for n in sorted(rare, reverse=True)]
    assert len(reads) >= 2 and max(reads) <= MAX_SCANNED
