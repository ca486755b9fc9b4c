"""Bad input never gets a 500: bodies are bounded (413), nesting is bounded (400), refusals
quote at most the start of a value, and an answer given after writing is never lost to the
idempotency store."""

from __future__ import annotations

import json

import pytest

from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api
from tests.integration.test_usage_api import ago, customer_on_plan, event, usage_tariff

MB = 1024 * 1024


def test_a_body_over_1_mb_is_refused_unread_with_413(api: Api, key: str) -> None:
    big = {"name": "Big", "metadata": {"note": "x" * MB}}
    reply = api.post("/v1/customers", key, big, idempotency_key="big-1")
    error = reply.body["error"]
    assert (reply.status, error["type"], error["code"]) == (413, "invalid_request_error", "payload_too_large")
    assert api.get("/v1/customers", key).body["data"] == []  # nothing written
    assert api.patch("/v1/settings", key, {"business_name": "y" * MB}).status == 413
    assert api.post("/v1/customers", key, {"name": "Small"}, idempotency_key="big-1").status == 201  # key unclaimed


@pytest.mark.parametrize("depth", [33, 100_000])
@pytest.mark.parametrize("path", ["/v1/customers", "/v1/events/batch", "/v1/events"])
def test_deeply_nested_json_is_a_400_naming_the_limit(api: Api, key: str, path: str, depth: int) -> None:
    body = b'{"metadata": ' + b"[" * depth + b"]" * depth + b"}"
    for headers in ({}, {"idempotency_key": f"deep-{depth}"}):
        reply = api.post(path, key, body, **headers)
        assert (reply.status, reply.body["error"]["code"]) == (400, "body_too_deep"), reply.body
        assert "32 levels" in reply.body["error"]["message"]


def test_an_invalid_batch_echoing_its_values_is_answered_and_kept_for_its_key(
    stack: EmbeddedStack, api: Api, key: str
) -> None:
    usage_tariff(api, key)
    customer = customer_on_plan(api, key, ago(days=1))["customer"]
    bad = [{"transaction_id": f"bad-{i}", "customer": customer, "code": "c" * 900} if i % 2 else
           {"transaction_id": "t" * 900, "customer": customer, "code": "api_calls"} for i in range(999)]  # fmt: skip
    body = {"events": [event("good-1", customer, "api_calls"), *bad]}
    assert 0.9 * MB < len(json.dumps(body)) < MB
    first = api.post("/v1/events/batch", key, body, idempotency_key="echo-1")
    assert first.status == 200, first.body
    assert (first.body["accepted"], len(first.body["rejected"])) == (1, 999)
    assert all(len(r["error"]["message"]) <= 300 for r in first.body["rejected"])
    assert {r["transaction_id"] for r in first.body["rejected"][::2]} == {None}  # ids beyond 128 characters
    again = api.post("/v1/events/batch", key, body, idempotency_key="echo-1")
    assert (again.status, again.body) == (200, first.body)  # the stored answer, not a second run
    stack.plumbing.drain()  # events are listed once the aggregator has applied them
    assert len(api.get(f"/v1/events?customer={customer}", key).body["data"]) == 1


def test_idempotency_tells_numbers_apart_by_their_exact_value(api: Api, key: str) -> None:
    usage_tariff(api, key)
    customer = customer_on_plan(api, key, ago(days=1))["customer"]
    stamp = ago(minutes=1)

    def sent(seconds: str, reorder: bool = False) -> bytes:
        fields = ['"transaction_id": "dec-1"', f'"customer": "{customer}"', '"code": "call_seconds"',
                  f'"timestamp": "{stamp}"', f'"properties": {{"seconds": {seconds}}}']  # fmt: skip
        return ("{" + ", ".join(reversed(fields) if reorder else fields) + "}").encode()

    assert api.post("/v1/events", key, sent("0.1"), idempotency_key="dec").status == 202
    replay = api.post("/v1/events", key, sent("0.10", reorder=True), idempotency_key="dec")
    assert replay.status == 202  # the same request: the stored answer (a rerun would say duplicate)
    other = api.post("/v1/events", key, sent("0.10000000000000001"), idempotency_key="dec")
    assert (other.status, other.body["error"]["code"]) == (409, "idempotency_key_reused")
