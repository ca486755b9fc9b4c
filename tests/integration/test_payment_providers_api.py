"""Payment provider accounts through the API (sealed with the stack's KMS key, never shown or
logged), and the providers' webhooks over HTTP: from a stand-in's paid checkout to our
``/webhooks/...``, verified, stored once however often it comes, queued and processed once;
everything refused is a 400 that stores nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from billing.adapters import aws, services
from billing.adapters.dynamodb import table
from billing.adapters.dynamodb.provider_accounts import DynamoProviderAccountRepository
from billing.adapters.dynamodb.provider_events import DynamoProviderEventStore
from billing.payments.accounts import context
from billing.payments.provider_events import EventRef
from billing.payments.providers import PROVIDERS, CheckoutRequest, ProviderEvent
from billing.scope import Scope
from billing.settings import get_settings
from billing.tenants import TenantService
from infra.local.stack import EmbeddedStack
from infra.local.standins import StandIns
from tests.integration import standin_client
from tests.integration.conftest import Api
from tests.integration.standin_client import Delivery, Receiver, open_page, submit


def stripe_credentials() -> dict[str, str]:
    return {"api_key": f"sk_test_{uuid.uuid4().hex}{uuid.uuid4().hex}", "webhook_secret": f"whsec_{uuid.uuid4().hex}"}


@pytest.fixture(autouse=True)
def over_http(served: str) -> str:
    """Every test here reaches the webhooks over HTTP, where the webhook URLs point."""
    return served


@pytest.fixture
def standins(stack: EmbeddedStack) -> StandIns:
    assert stack.standins is not None
    return stack.standins


@pytest.fixture
def scope(tenants: TenantService, key: str) -> Scope:
    return tenants.authenticate(f"Bearer {key}")


@pytest.fixture
def relay() -> Iterator[Receiver]:
    yield from standin_client.receiver()


def queued(stack: EmbeddedStack) -> int:
    """Messages waiting in the provider event queue."""
    url = get_settings().provider_event_queue_url
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


class Counting:
    """The processor's handler, counted: how often an event was applied."""

    def __init__(self, handler: Any) -> None:
        self.handler, self.handled = handler, []

    def apply(self, scope: Scope, provider: str, event: ProviderEvent) -> object:
        self.handled.append(event.id)
        return self.handler.apply(scope, provider, event)


@pytest.fixture
def counting(stack: EmbeddedStack, monkeypatch: pytest.MonkeyPatch) -> Counting:
    assert stack.plumbing is not None
    stack.plumbing.drain()  # what earlier tests left
    processor = services.provider_events()
    counted = Counting(processor._handler)
    monkeypatch.setattr(processor, "_handler", counted)
    return counted


def checkout(amount: int = 1250) -> CheckoutRequest:
    return CheckoutRequest(
        checkout_session=f"chk_{uuid.uuid4().hex[:12]}", invoice=None, amount=amount, currency="USD",
        description="Invoice 7", customer_email=None, success_url="https://billing.example/return",
        cancel_url="https://billing.example/cancel", expires_at=datetime.now(UTC) + timedelta(hours=1),
    )  # fmt: skip


def over(served: str, key: str) -> Any:
    """Requests to the API over HTTP with ``key``: ``call(method, path, body)`` -> (status, JSON)."""

    def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        answer = requests.request(method, f"{served}{path}", json=body, headers={"Authorization": f"Bearer {key}"},
                                  timeout=30)  # fmt: skip
        return answer.status_code, answer.json()

    return call


def test_configure_list_rotate_and_disable_over_http(key: str, scope: Scope, served: str) -> None:
    call, credentials = over(served, key), stripe_credentials()
    status, account = call("PUT", "/v1/payment_providers/stripe", credentials)
    assert status == 200, account
    endpoint_id = account["webhook_url"].rsplit("/", 1)[1]
    assert account["webhook_url"] == f"{served}/webhooks/stripe/{endpoint_id}" and endpoint_id.startswith("we_")
    assert (account["enabled"], account["livemode"]) == (True, False)
    assert account["last4"] == {name: secret[-4:] for name, secret in credentials.items()}
    assert scope.tenant_id not in endpoint_id

    status, rotated = call("PUT", "/v1/payment_providers/stripe", {**credentials, "webhook_secret": "whsec_new_0001"})
    assert status == 200 and rotated["webhook_url"] == account["webhook_url"]
    status, listed = call("GET", "/v1/payment_providers")
    assert status == 200 and listed["has_more"] is False
    assert [(a["provider"], a["enabled"], a["last4"]["webhook_secret"]) for a in listed["data"]] == [
        ("stripe", True, "0001")
    ]
    status, disabled = call("DELETE", "/v1/payment_providers/stripe")
    assert status == 200 and disabled["enabled"] is False and disabled["webhook_url"] == account["webhook_url"]
    assert call("GET", "/v1/payment_providers")[1]["data"][0]["enabled"] is False


def test_bad_input_names_the_field_and_writes_nothing(api: Api, key: str, scope: Scope) -> None:
    unknown = api.request("PUT", "/v1/payment_providers/paypal", key, stripe_credentials())
    assert (unknown.status, unknown.body["error"]["param"]) == (404, "provider")
    missing = api.request("PUT", "/v1/payment_providers/whitepay", key, {"slug": "s", "token": "t"})
    assert (missing.status, missing.body["error"]["param"]) == (400, "webhook_token")
    extra = api.request("PUT", "/v1/payment_providers/stripe", key, {**stripe_credentials(), "url": "https://x"})
    assert (extra.status, extra.body["error"]["param"]) == (400, "url")
    assert api.delete("/v1/payment_providers/stripe", key).status == 404
    assert api.get("/v1/payment_providers", key).body["data"] == []
    assert DynamoProviderAccountRepository().list(scope) == []


def test_the_table_holds_a_ciphertext_of_the_credentials_and_no_log_shows_them(
    api: Api, key: str, scope: Scope, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    credentials = stripe_credentials()
    assert api.request("PUT", "/v1/payment_providers/stripe", key, credentials).status == 200
    assert api.get("/v1/payment_providers", key).status == 200
    assert services.provider_accounts().credentials(scope, "stripe") is not None
    logged = capfd.readouterr()
    for secret in credentials.values():
        assert secret not in logged.out + logged.err + caplog.text

    stored = table.get({"PK": f"{scope.key}#PPA", "SK": "PPA#stripe"})  # the item as DynamoDB holds it
    assert stored is not None
    raw = repr(stored).encode() + bytes(stored["sealed"])
    assert not any(secret.encode() in raw for secret in credentials.values())
    sealed = DynamoProviderAccountRepository().get(scope, "stripe")
    assert sealed is not None and sealed.sealed == bytes(stored["sealed"])
    kms = aws.client("kms")
    opened = kms.decrypt(CiphertextBlob=sealed.sealed, EncryptionContext=context(scope, "stripe"))
    assert json.loads(opened["Plaintext"]) == credentials  # the stack's key, under the account's context
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=sealed.sealed, EncryptionContext=context(Scope("ten_other", False), "stripe"))


def test_a_paid_stripe_checkout_s_webhook_is_verified_stored_queued_and_processed(
    api: Api, key: str, scope: Scope, standins: StandIns, stack: EmbeddedStack, counting: Counting
) -> None:
    credentials = stripe_credentials()
    account = api.request("PUT", "/v1/payment_providers/stripe", key, credentials).body
    standins.register_webhook("stripe", credentials["api_key"], account["webhook_url"], credentials["webhook_secret"])
    stripe = PROVIDERS["stripe"]
    created = stripe.create_checkout(stripe.Credentials.model_validate(credentials), checkout())
    _, forms = open_page(created.url)
    assert submit(created.url, forms["pay"])[0] == 303  # the stand-in posted its webhook to us first
    assert standins.servers["stripe"].deliveries[-1] == ("checkout.session.completed", 200)

    stored = [e for e in stored_events(scope, "stripe") if e.event.reference == created.reference]
    assert [(e.event.type, e.event.status, e.state) for e in stored] == [
        ("checkout.session.completed", "succeeded", "received")
    ]
    assert queued(stack) == 1
    assert stack.plumbing is not None
    stack.plumbing.drain()
    assert counting.handled == [stored[0].event.id] and queued(stack) == 0
    assert DynamoProviderEventStore().get(stored[0].ref).state == "processed"  # type: ignore[union-attr]


def test_a_webhook_delivered_five_times_at_once_is_stored_queued_and_processed_once(
    api: Api, key: str, scope: Scope, standins: StandIns, stack: EmbeddedStack, counting: Counting, relay: Receiver
) -> None:
    coinbase = PROVIDERS["coinbase_commerce"]
    credentials = {"api_key": f"cb-{uuid.uuid4().hex}", "webhook_secret": f"secret-{uuid.uuid4().hex}"}
    account = api.request("PUT", "/v1/payment_providers/coinbase_commerce", key, credentials).body
    standins.register_webhook("coinbase_commerce", credentials["api_key"], relay.url, credentials["webhook_secret"])
    created = coinbase.create_checkout(coinbase.Credentials.model_validate(credentials), checkout())
    _, forms = open_page(created.url)
    assert submit(created.url, forms["pay"])[0] == 303
    deliveries = relay.take(2)  # charge:pending, charge:confirmed, signed by the stand-in

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda d: post(account["webhook_url"], d), [d for d in deliveries for _ in range(5)]))
    assert [status for status, _ in answers] == [200] * 10
    assert sorted(body["duplicate"] for _, body in answers) == [False] * 2 + [True] * 8
    ids = {body["event"] for _, body in answers}
    assert len(ids) == 2 and {e.event.id for e in stored_events(scope, "coinbase_commerce")} == ids
    assert queued(stack) == 2
    assert stack.plumbing is not None
    stack.plumbing.drain()
    assert sorted(counting.handled) == sorted(ids)
    again = post(account["webhook_url"], deliveries[1])
    assert again == (200, {"object": "webhook_receipt", "event": again[1]["event"], "duplicate": True})
    assert queued(stack) == 0  # processed already: acknowledged, not queued


def test_an_event_about_an_object_we_never_created_is_stored_and_acknowledged(
    api: Api, key: str, scope: Scope, stack: EmbeddedStack
) -> None:
    credentials = {"api_key": "cb-key-unknown-object", "webhook_secret": f"secret-{uuid.uuid4().hex}"}
    account = api.request("PUT", "/v1/payment_providers/coinbase_commerce", key, credentials).body
    event_id = str(uuid.uuid4())
    body = coinbase_event(event_id, "charge:confirmed", {"id": "charge-of-someone-else", "code": "ZZZ"})
    status, receipt = post(account["webhook_url"], Delivery(sign_coinbase(body, credentials["webhook_secret"]), body))
    assert (status, receipt["event"]) == (200, event_id)
    assert DynamoProviderEventStore().get(EventRef(scope, "coinbase_commerce", event_id)) is not None


def test_forged_stale_unknown_and_disabled_endpoints_get_a_400_and_store_nothing(
    api: Api, key: str, scope: Scope, stack: EmbeddedStack, served: str
) -> None:
    assert stack.plumbing is not None
    stack.plumbing.drain()
    stripe_keys, coinbase_keys = stripe_credentials(), {"api_key": "cb-k", "webhook_secret": f"s-{uuid.uuid4()}"}
    stripe_url = api.request("PUT", "/v1/payment_providers/stripe", key, stripe_keys).body["webhook_url"]
    coinbase_url = api.request("PUT", "/v1/payment_providers/coinbase_commerce", key, coinbase_keys).body["webhook_url"]
    body = coinbase_event("evt-refused", "charge:confirmed", {"id": "c-1"})
    stripe_body = json.dumps({"id": "evt_refused", "type": "checkout.session.completed", "data": {"object": {}}})
    fresh = sign_stripe(stripe_body.encode(), stripe_keys["webhook_secret"], datetime.now(UTC))
    stale = sign_stripe(stripe_body.encode(), stripe_keys["webhook_secret"], datetime.now(UTC) - timedelta(minutes=6))
    cases = [
        (coinbase_url, Delivery(sign_coinbase(body, "not-the-secret"), body), "signature_forged"),
        (coinbase_url, Delivery({"Content-Type": "application/json"}, body), "signature_missing"),
        (stripe_url, Delivery(stale, stripe_body.encode()), "signature_stale"),
        (f"{served}/webhooks/coinbase_commerce/we_{'0' * 26}", Delivery(sign_coinbase(body, "x"), body),
         "webhook_endpoint_unknown"),
        (stripe_url.replace("/stripe/", "/coinbase_commerce/"),
         Delivery(sign_coinbase(body, coinbase_keys["webhook_secret"]), body), "webhook_endpoint_unknown"),
    ]  # fmt: skip
    for url, delivery, code in cases:
        status, answer = post(url, delivery)
        assert (status, answer["error"]["type"], answer["error"]["code"]) == (400, "invalid_request_error", code)
    assert api.delete("/v1/payment_providers/stripe", key).status == 200
    status, answer = post(stripe_url, Delivery(fresh, stripe_body.encode()))
    assert (status, answer["error"]["code"]) == (400, "webhook_endpoint_unknown")
    assert stored_events(scope, "stripe") == [] and stored_events(scope, "coinbase_commerce") == []
    assert queued(stack) == 0


def post(url: str, delivery: Delivery) -> tuple[int, Any]:
    """A provider's delivery, sent as it came: the same bytes and headers."""
    headers = {k: v for k, v in delivery.headers.items() if k.lower() not in ("host", "content-length")}
    answer = requests.post(url, data=delivery.body, headers=headers, timeout=30)
    return answer.status_code, answer.json()


def stored_events(scope: Scope, provider: str) -> list[Any]:
    """The scope's stored events of ``provider`` (a test may scan: no function does)."""
    pages = (
        aws.client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=table.table_name(),
            FilterExpression="begins_with(PK, :pk)",
            ExpressionAttributeValues={":pk": {"S": f"{scope.key}#PEVT#{provider}#"}},
        )
    )
    items = [item for page in pages for item in page["Items"]]
    store = DynamoProviderEventStore()
    found = []
    for item in items:
        decoded = table.decode(item)
        found.append(store.get(EventRef(scope, provider, decoded["eid"])))
    return found


def coinbase_event(event_id: str, kind: str, charge: dict[str, Any]) -> bytes:
    event = {"id": event_id, "type": kind, "created_at": "2026-03-01T11:59:00Z", "data": charge}
    return json.dumps({"id": 1, "attempt_number": 1, "event": event}).encode()


def sign_coinbase(body: bytes, secret: str) -> dict[str, str]:
    import hashlib
    import hmac

    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-CC-Webhook-Signature": signature}


def sign_stripe(body: bytes, secret: str, at: datetime) -> dict[str, str]:
    import stripe as stripe_library

    stamp = int(at.timestamp())
    v1 = stripe_library.WebhookSignature._compute_signature(f"{stamp}.{body.decode()}", secret)
    return {"Content-Type": "application/json", "Stripe-Signature": f"t={stamp},v1={v1}"}
