"""The DynamoDB idempotency store: claims, answers, releases and lapsed leases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from billing.adapters.dynamodb.idempotency import DynamoIdempotencyStore
from billing.idempotency import Claim, StoredResponse
from billing.ids import new_id
from billing.scope import Scope
from infra.local.stack import EmbeddedStack

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_claim_answer_and_release(stack: EmbeddedStack) -> None:
    store, scope, key = DynamoIdempotencyStore(), Scope(new_id("ten"), False), "k-1"
    assert store.claim(scope, key, "print-a", NOW, NOW + timedelta(seconds=60)) is None
    assert store.claim(scope, key, "print-b", NOW, NOW + timedelta(seconds=60)) == Claim("print-a", None)
    store.complete(scope, key, StoredResponse(201, {"id": "cus_1"}), NOW + timedelta(hours=24))
    assert store.claim(scope, key, "print-a", NOW, NOW) == Claim("print-a", StoredResponse(201, {"id": "cus_1"}))
    store.release(scope, key)
    assert store.claim(scope, key, "print-c", NOW, NOW + timedelta(seconds=60)) is None


def test_a_lapsed_lease_or_answer_frees_the_key(stack: EmbeddedStack) -> None:
    store, scope, key = DynamoIdempotencyStore(), Scope(new_id("ten"), False), "k-2"
    store.claim(scope, key, "print-a", NOW, NOW + timedelta(seconds=60))
    later = NOW + timedelta(seconds=61)
    assert store.claim(scope, key, "print-b", later, later + timedelta(seconds=60)) is None
    store.complete(scope, key, StoredResponse(200, {}), later + timedelta(hours=24))
    next_day = later + timedelta(hours=24, seconds=1)
    assert store.claim(scope, key, "print-c", next_day, next_day) is None


def test_answers_are_kept_compressed_and_old_plain_ones_still_read(stack: EmbeddedStack) -> None:
    from billing.adapters.dynamodb import table

    store, scope = DynamoIdempotencyStore(), Scope(new_id("ten"), False)
    answer = StoredResponse(200, {"rejected": [{"index": i, "message": "x" * 500} for i in range(1000)]})  # 530 KB
    store.claim(scope, "big", "print-a", NOW, NOW + timedelta(seconds=60))
    store.complete(scope, "big", answer, NOW + timedelta(hours=24))
    assert store.claim(scope, "big", "print-a", NOW, NOW) == Claim("print-a", answer)
    plain = {"PK": f"{scope.key}#IDEM#old", "SK": "IDEM", "fingerprint": "print-o", "status": 201,
             "body": '{"id": "cus_1"}', "expires_at": int((NOW + timedelta(hours=1)).timestamp())}  # fmt: skip
    table.client().put_item(TableName=table.table_name(), Item=table.encode(plain))
    assert store.claim(scope, "old", "print-o", NOW, NOW) == Claim("print-o", StoredResponse(201, {"id": "cus_1"}))
