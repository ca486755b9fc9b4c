"""A change and its domain event are written together; the stream publisher puts the event on the bus."""

from __future__ import annotations

import json
import time

import boto3

from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api


def _capture_bus(stack: EmbeddedStack, detail_type: str) -> str:
    """Route the bus's events of one type to a fresh queue (a rule as a consumer would add)."""
    assert stack.stack is not None
    bus = stack.stack.refs["EventBus"]
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName=f"capture-{int(time.time() * 1000)}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"capture-{detail_type}-{int(time.time() * 1000)}"
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"detail-type": [detail_type]}))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


def _received(url: str) -> list[dict]:
    sqs = boto3.client("sqs")
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return found
        found += [json.loads(m["Body"]) for m in messages]


def test_customer_changes_reach_the_event_bus(stack: EmbeddedStack, api: Api, key: str) -> None:
    created_queue = _capture_bus(stack, "CustomerCreated")
    updated_queue = _capture_bus(stack, "CustomerUpdated")
    customer = api.post("/v1/customers", key, {"name": "Evented"}).body
    api.patch(f"/v1/customers/{customer['id']}", key, {"name": "Renamed"})
    api.post("/v1/customers", key, {"email": "bad"})  # refused: no event
    assert stack.plumbing is not None
    stack.plumbing.drain()

    created = [m["detail"] for m in _received(created_queue)]
    mine = [d for d in created if d["data"]["object"]["id"] == customer["id"]]
    assert len(mine) == 1
    assert [d for d in created if d["tenant_id"] == mine[0]["tenant_id"]] == mine  # the refused POST published nothing
    assert mine[0]["type"] == "CustomerCreated" and mine[0]["id"].startswith("evt_")
    assert mine[0]["livemode"] is False

    updated = [m["detail"] for m in _received(updated_queue) if m["detail"]["data"]["object"]["id"] == customer["id"]]
    assert len(updated) == 1
    assert updated[0]["data"]["previous_attributes"] == {"name": "Evented"}
    assert updated[0]["data"]["object"]["name"] == "Renamed"


def test_draining_reads_past_pages_of_records_the_filter_drops(stack: EmbeddedStack, api: Api, key: str) -> None:
    """Stream pages hold up to 1,000 records; a page without outbox records is not the end."""
    from billing.adapters.dynamodb import table

    assert stack.plumbing is not None
    stack.plumbing.drain()
    queue = _capture_bus(stack, "CustomerCreated")
    for start in range(0, 1100, 25):  # items the stream carries but the publisher filters out
        batch = [{"PutRequest": {"Item": table.encode({"PK": f"noise#{start + i}", "SK": "X"})}} for i in range(25)]
        table.client().batch_write_item(RequestItems={table.table_name(): batch})
    customer = api.post("/v1/customers", key, {"name": "After the noise"}).body
    stack.plumbing.drain()
    assert customer["id"] in [m["detail"]["data"]["object"]["id"] for m in _received(queue)]


def test_events_keep_flowing_after_a_refused_transaction(stack: EmbeddedStack, api: Api, key: str) -> None:
    """A refused transaction (here a duplicate external id) must not stop the stream publisher."""
    assert stack.plumbing is not None
    queue = _capture_bus(stack, "CustomerCreated")
    api.post("/v1/customers", key, {"external_id": "twice"})
    stack.plumbing.drain()
    assert api.post("/v1/customers", key, {"external_id": "twice"}).status == 409
    later = api.post("/v1/customers", key, {"name": "After the refusal"}).body
    stack.plumbing.drain()
    assert later["id"] in [m["detail"]["data"]["object"]["id"] for m in _received(queue)]


def test_each_event_of_a_billing_step_reaches_the_bus_once(stack: EmbeddedStack, api: Api, key: str) -> None:
    """A step records its events in one outbox record; the publisher puts each on the bus."""
    from tests.integration.test_invoices_api import listed, on_clock, tariff

    queues = {kind: _capture_bus(stack, kind) for kind in ("SubscriptionRenewed", "InvoiceCreated", "InvoiceFinalized")}
    tariff(api, key)
    clock, _, sub = on_clock(api, key)
    assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-02-01T02:00:00Z"}).status == 200
    assert stack.plumbing is not None
    stack.plumbing.drain()
    received = {kind: [m["detail"] for m in _received(url)] for kind, url in queues.items()}
    renewed = [d["data"]["object"]["id"] for d in received["SubscriptionRenewed"]]
    assert renewed.count(sub) == 1
    invoices = [invoice["id"] for invoice in listed(api, key, subscription=sub)]
    assert len(invoices) == 2
    for kind in ("InvoiceCreated", "InvoiceFinalized"):
        ids = [d["data"]["object"]["id"] for d in received[kind]]
        assert [ids.count(invoice) for invoice in invoices] == [1, 1], kind
