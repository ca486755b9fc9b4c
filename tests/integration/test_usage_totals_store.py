"""Usage totals as the aggregator's commits store them: each total holds the counters its
meter changes, and reads back whole."""

from __future__ import annotations

import uuid
from decimal import Decimal

from billing.adapters.dynamodb import table
from billing.adapters.dynamodb.usage_aggregates import DynamoAggregateStore, period_pk
from billing.scope import Scope
from billing.usage.aggregator import Claim
from billing.usage.model import UsageEvent
from billing.usage.totals import Stored, fold
from infra.local.stack import EmbeddedStack

START, END = "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"


def _event(txid: str, code: str, aggregation: str, value: str, unique: str | None = None) -> UsageEvent:
    return UsageEvent(
        transaction_id=txid, customer="cus_1", code=code, timestamp="2026-03-15T00:00:00Z", properties={},
        subscription="sub_1", period_start=START, period_end=END, aggregation=aggregation, value=Decimal(value),
        group={}, received_at="2026-03-15T00:00:01Z", unique=unique,
    )  # fmt: skip


def test_a_total_holds_only_the_counters_its_meter_changes(stack: EmbeddedStack) -> None:
    scope = Scope(f"ten_{uuid.uuid4().hex[:26]}", livemode=False)
    events = [
        _event("a", "bytes", "sum", "5"),
        _event("b", "bytes", "sum", "7"),
        _event("c", "users", "unique_count", "1", unique="u1"),
        _event("d", "seats", "weighted_sum", "2"),
    ]
    deltas = fold((scope, event) for event in events)
    store = DynamoAggregateStore()
    store.commit(Claim(f"test#{uuid.uuid4().hex}", ("1", "2", "3", "4")), deltas, store.unseen(deltas))

    items = {item["code"]: item for item in table.query_all(period_pk(scope, "sub_1", START), consistent=True)}
    counters = {code: {"n", "total", "wsum", "uq"} & set(item) for code, item in items.items()}
    assert counters == {"bytes": {"n", "total"}, "users": {"n", "total", "uq"}, "seats": {"n", "total", "wsum"}}
    stored = {total.code: total for total in store.period(scope, "sub_1", START)}
    assert stored["bytes"] == Stored("bytes", {}, "sum", n=2, total=Decimal(12))
    assert stored["users"] == Stored("users", {}, "unique_count", n=1, total=Decimal(1), unique=1)
    assert stored["seats"].wsum == Decimal(2) * 17 * 86400 and stored["seats"].unique == 0
