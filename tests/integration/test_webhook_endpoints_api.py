"""Outbound webhooks against the embedded stack: a domain event goes from the outbox through the
stream publisher, the bus rule, the fan-out queue and the delivery queue to a receiver on
127.0.0.1 (allowed by the embedded stack's platform allow-list, ``LOCAL_WEBHOOK_NETWORKS``),
signed with the endpoint's secret; the delivery log shows it; a failing receiver's delivery is
scheduled again; the SSRF rules refuse what the allow-list does not name."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from billing.webhooks_out import signing
from infra.local.stack import EmbeddedStack
from tests.integration import standin_client
from tests.integration.conftest import Api
from tests.integration.standin_client import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from standin_client.receiver()


def drain(stack: EmbeddedStack) -> None:
    assert stack.plumbing is not None
    stack.plumbing.drain()


def endpoint(api: Api, key: str, url: str, events: list[str]) -> dict[str, Any]:
    made = api.post("/v1/webhook_endpoints", key, {"url": url, "enabled_events": events})
    assert made.status == 201, made.body
    created: dict[str, Any] = made.body
    return created


def deliveries(api: Api, key: str, endpoint_id: str) -> list[dict[str, Any]]:
    listed = api.get(f"/v1/webhook_endpoints/{endpoint_id}/deliveries", key)
    assert listed.status == 200, listed.body
    data: list[dict[str, Any]] = listed.body["data"]
    return data


def test_a_domain_event_reaches_the_tenants_receiver_signed(
    api: Api, key: str, other_key: str, stack: EmbeddedStack, receiver: Receiver
) -> None:
    made = endpoint(api, key, receiver.url, ["CustomerCreated"])
    secret = made.pop("secret")
    assert secret.startswith("whsec_") and made["status"] == "enabled" and made["livemode"] is False
    shown = api.get(f"/v1/webhook_endpoints/{made['id']}", key)
    assert shown.status == 200 and shown.body == made  # never the secret again
    assert api.get("/v1/webhook_endpoints", key).body["data"] == [made]
    assert api.get(f"/v1/webhook_endpoints/{made['id']}", other_key).status == 404

    customer = api.post("/v1/customers", key, {"name": "Webhook Co"}).body
    api.post("/v1/customers", other_key, {"name": "Not Ours"})  # another tenant's event: not sent here
    drain(stack)
    (delivery,) = receiver.take(1)
    sent = json.loads(delivery.body)
    assert (sent["type"], sent["data"]["object"]["id"], sent["tenant_id"]) == (
        "CustomerCreated", customer["id"], made_tenant(api, key))  # fmt: skip
    assert signing.verify(delivery.headers["Billing-Signature"], delivery.body, secret, now=int(time.time()))

    (logged,) = deliveries(api, key, made["id"])
    assert (logged["status"], logged["attempts"], logged["event"], logged["event_type"]) == (
        "succeeded", 1, sent["id"], "CustomerCreated")  # fmt: skip
    assert logged["last_attempt"]["response_status"] == 200 and logged["next_attempt_at"] is None

    api.patch(f"/v1/customers/{customer['id']}", key, {"name": "Webhook Co 2"})  # CustomerUpdated: not enabled
    drain(stack)
    assert receiver.deliveries.empty() and len(deliveries(api, key, made["id"])) == 1


def made_tenant(api: Api, key: str) -> str:
    """The tenant of a key, as events name it (a customer's event says it too)."""
    from billing.adapters import services

    return services.tenants().authenticate(f"Bearer {key}").tenant_id


def test_a_test_event_is_delivered_and_a_failing_receiver_is_retried_later(
    api: Api, key: str, stack: EmbeddedStack, receiver: Receiver
) -> None:
    made = endpoint(api, key, receiver.url, ["*"])
    queued = api.post(f"/v1/webhook_endpoints/{made['id']}/test", key)
    assert queued.status == 202 and queued.body["status"] == "pending"
    drain(stack)
    (delivery,) = receiver.take(1)
    assert json.loads(delivery.body)["type"] == "WebhookEndpointTested"
    assert signing.verify(delivery.headers["Billing-Signature"], delivery.body, made["secret"], now=int(time.time()))

    receiver.status = 500
    failing = api.post(f"/v1/webhook_endpoints/{made['id']}/test", key).body
    drain(stack)
    receiver.take(1)
    (logged,) = [d for d in deliveries(api, key, made["id"]) if d["id"] == failing["id"]]
    assert (logged["status"], logged["attempts"], logged["last_attempt"]["response_status"]) == ("retrying", 1, 500)
    assert logged["next_attempt_at"] > logged["last_attempt"]["at"]  # a minute later: the message waits till then

    disabled = api.patch(f"/v1/webhook_endpoints/{made['id']}", key, {"disabled": True})
    assert disabled.status == 200 and disabled.body["status"] == "disabled"
    refused = api.post(f"/v1/webhook_endpoints/{made['id']}/test", key)
    assert refused.status == 422 and refused.body["error"]["code"] == "endpoint_disabled"
    gone = api.delete(f"/v1/webhook_endpoints/{made['id']}", key)
    assert gone.status == 200 and gone.body == {"object": "webhook_endpoint", "id": made["id"], "deleted": True}
    assert api.get(f"/v1/webhook_endpoints/{made['id']}", key).status == 404


@pytest.mark.parametrize(
    "url",
    ["https://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hooks", "http://127.0.0.2/hooks",
     "https://user:pw@example.com/", "ftp://example.com/"],
)  # fmt: skip
def test_urls_outside_the_allow_list_are_refused_naming_url(api: Api, key: str, url: str) -> None:
    refused = api.post("/v1/webhook_endpoints", key, {"url": url, "enabled_events": ["*"]})
    assert refused.status == 400 and refused.body["error"]["param"] == "url", refused.body
    assert api.get("/v1/webhook_endpoints", key).body["data"] == []


def test_a_bad_body_is_refused_naming_the_field(api: Api, key: str) -> None:
    refused = api.post("/v1/webhook_endpoints", key, {"url": "https://example.com/", "enabled_events": ["a b"]})
    assert refused.status == 400 and refused.body["error"]["param"] == "enabled_events"
    missing = api.post("/v1/webhook_endpoints", key, {"url": "https://example.com/"})
    assert missing.status == 400 and missing.body["error"]["code"] == "parameter_missing"
