"""Payment providers' webhooks: how fast the intake acknowledges them, and what a payment costs
in DynamoDB requests from its webhook to the paid invoice.

One embedded stack (the moto server in a process of its own, ``bench/_emulator.py``; every
resource of template.yaml; the API served over HTTP on a free port; the providers' stand-ins).
A tenant with a Stripe and a Whitepay account, each account's ``webhook_url`` registered with
its stand-in, as ``make run`` does for the demo tenant.

Requests per payment. ``PAYMENTS`` invoices (USD 19.00, finalized at once: no grace period)
are paid by card and as many in crypto, as a customer pays them: a checkout link, the hosted
page's method (our server creates the provider's checkout), then the stand-in's "pay" form
(the setup, not counted). Counted from there: the stand-in sends its signed webhook(s) to the
intake over HTTP (Stripe one, ``checkout.session.completed``; Whitepay two,
``transaction::completed`` and ``order::completed``), then the provider event queue is drained
(the processor: ``Payments.apply``, which asks the stand-in for the truth and writes the
payment, the invoice, the ledger entry and the events). Every DynamoDB request of the process
in that span is counted (``bench/_capacity.py``), and every invoice is checked paid.

Acks per second. ``EVENTS`` distinct webhooks, half Stripe's and half Whitepay's, each a copy
of a real one of the payments above (a completed Checkout Session, a completed order) under a
new id, signed by the stand-ins' own signing code (``infra.local.standins``), are posted to
``/webhooks/{provider}/{endpoint id}`` by ``CLIENTS`` concurrent HTTP clients, each waiting for
its 200 (verified, stored with a conditional write, queued). The events name no payment of
ours, which the intake does not look at. The baseline does what the intake cannot avoid, from
as many threads, on the same server: a conditional ``PutItem`` of the very item the intake
stores (into a scratch table with a stream, as the billing table has) and a ``SendMessage`` of
the very message (into a scratch FIFO queue of the same settings), with plain boto3.

The floor. The emulator serves one request at a time and both sides make the same two
requests of it per event (about 8 ms of its CPU: 4 the put into a streamed table, 4 the send);
each side's own CPU per event is botocore's for those two requests (about 3.5 ms), plus, for
the intake, 1 to 2 ms more: the HTTP request and the local gateway, verifying (0.05 ms for
Stripe's signature, 0.1 for Whitepay's three candidates), the stored item's encoding (0.1). On
two free cores the emulator bounds both sides (ratio near 1); on a busy machine the processes
share the cores, and the ratio tends to (8 + 3.5) / (8 + 5) = 0.88.

Figures:
- ``acks_per_s``: webhooks acknowledged per second.
- ``raw_put_and_send_per_s``: the baseline's events per second.
- ``ratio_to_raw``: ours / raw.
- ``intake_requests_per_event``: DynamoDB requests of the intake per webhook (of the payments).
- ``requests_per_payment``: DynamoDB requests from a card payment's webhook to its paid invoice.
- ``requests_per_crypto_payment``: the same for a crypto payment (two webhooks).
"""

from __future__ import annotations

import copy
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from bench._capacity import WriteUnits
from bench._emulator import provisioned

if TYPE_CHECKING:
    from billing.scope import Scope
    from infra.local.stack import EmbeddedStack

PAYMENTS = int(os.environ.get("BENCH_WEBHOOK_PAYMENTS", 20))
EVENTS = int(os.environ.get("BENCH_WEBHOOK_EVENTS", 2000))
CLIENTS = 4
PRICE = 1900


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


def _post_form(url: str, fields: dict[str, str]) -> int:
    """Submit a stand-in page's form as a browser would, without following its redirect."""
    request = urllib.request.Request(url, data=urlencode(fields).encode(), method="POST")
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=60) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as answered:
        return answered.code


def _get_json(url: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        found: dict[str, Any] = json.loads(answer.read())
        return found


class Operations:
    """DynamoDB operations by name, kept as they are sent (what the requests were, on stderr)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def attach(self, client: Any) -> None:
        client.meta.events.register("provide-client-params.dynamodb.*", self._keep)

    def _keep(self, model: Any, **_: Any) -> None:
        self.names.append(model.name)

    def take(self) -> Counter[str]:
        taken, self.names = Counter(self.names), []
        return taken


def run() -> dict[str, float | int | str]:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    with provisioned("hookbench") as stack:
        return _run(stack)


def _run(stack: EmbeddedStack) -> dict[str, float | int | str]:
    from billing.adapters import services
    from billing.adapters.dynamodb import table
    from billing.scope import Scope
    from billing.tenant_settings import SettingsUpdate

    stack.serve_api()
    tenant, _ = services.tenants().create_tenant("Webhook Bench")
    scope = Scope(tenant.id, livemode=False)
    services.update_settings(scope, SettingsUpdate(grace_period=0))
    accounts = _connect(stack, scope)
    units, operations = WriteUnits(), Operations()
    units.attach(table.client(), deferred=True)  # counted after each phase, never in a timed one
    operations.attach(table.client())
    card = _payments(stack, scope, accounts["stripe"], units, operations)
    crypto = _payments(stack, scope, accounts["whitepay"], units, operations)
    signed_at = datetime.now(UTC)
    events = [event for pair in zip(_copies(card, EVENTS // 2), _copies(crypto, EVENTS // 2), strict=True)
              for event in pair]  # fmt: skip
    acks = _acks(stack, events)
    raw = _baseline(scope, accounts, events, signed_at)
    webhooks = PAYMENTS * (WEBHOOKS["stripe"] + WEBHOOKS["whitepay"])
    return {
        "acks_per_s": round(acks, 1),
        "raw_put_and_send_per_s": round(raw, 1),
        "ratio_to_raw": round(acks / raw, 2),
        "intake_requests_per_event": round((card.intake + crypto.intake) / webhooks, 2),
        "requests_per_payment": round(card.requests / PAYMENTS, 1),
        "requests_per_crypto_payment": round(crypto.requests / PAYMENTS, 1),
    }


WEBHOOKS = {"stripe": 1, "whitepay": 2}  # what each stand-in sends for a payment in full


@dataclass(frozen=True)
class Account:
    provider: str
    credentials: dict[str, str]
    secret: str  # what its webhooks are signed with
    endpoint_id: str


def _connect(stack: EmbeddedStack, scope: Scope) -> dict[str, Account]:
    """The tenant's Stripe and Whitepay accounts, their webhook URLs registered at the stand-ins."""
    from billing.adapters import services
    from billing.settings import get_settings

    made_up = {
        "stripe": ({"api_key": f"sk_test_{uuid.uuid4().hex}", "webhook_secret": "whsec_bench_0001"}, "api_key",
                   "webhook_secret"),
        "whitepay": ({"slug": f"bench-{uuid.uuid4().hex[:8]}", "token": "wp_bench_token",
                      "webhook_token": "wp_bench_hook"}, "slug", "webhook_token"),
    }  # fmt: skip
    assert stack.standins is not None
    accounts = {}
    for provider, (credentials, key, secret) in made_up.items():
        account = services.provider_accounts().configure(scope, provider, credentials)
        url = account.webhook_url(get_settings().public_base_url)
        stack.standins.register_webhook(provider, credentials[key], url, credentials[secret])
        accounts[provider] = Account(provider, credentials, credentials[secret], url.rsplit("/", 1)[1])
    return accounts


@dataclass(frozen=True)
class Paid:
    """One provider's payments: the DynamoDB requests from their webhooks to their paid invoices
    (the intake's part apart), and the provider's object behind one of them, to copy."""

    account: Account
    requests: int
    intake: int
    sample: dict[str, Any]


def _invoices(scope: Scope, count: int) -> list[str]:
    """``count`` customers on a USD 19.00 plan, each with its first invoice finalized (open)."""
    from billing.adapters import services
    from billing.catalog.service import create_request
    from billing.customers import CustomerCreate
    from billing.subscriptions.model import SubscriptionCreate

    code = f"plan-{uuid.uuid4().hex[:6]}"
    plan = {"code": code, "name": "Starter", "currency": "USD", "interval": "month", "base_fee": PRICE}
    services.catalog().create(scope, "plan", create_request("plan", plan))
    invoices = []
    for n in range(count):
        customer = services.customers().create(scope, CustomerCreate.model_validate({"name": f"Payer {n}"}))
        sub = services.subscriptions().create(
            scope, SubscriptionCreate.model_validate({"customer": customer.id, "plan": code})
        )
        (invoice,) = services.biller().bill(scope, sub.id, datetime.now(UTC))
        assert invoice.status == "open" and invoice.amount_due == PRICE, invoice.status
        invoices.append(invoice.id)
    return invoices


def _payments(stack: EmbeddedStack, scope: Scope, account: Account, units: WriteUnits, operations: Operations) -> Paid:
    """``PAYMENTS`` invoices paid through ``account``'s stand-in (see the module)."""
    from billing.adapters import services
    from billing.payments.checkout import CheckoutSessionCreate

    invoices = _invoices(scope, PAYMENTS)
    method = "card" if account.provider == "stripe" else account.provider
    pages = []
    for invoice_id in invoices:
        session, _ = services.checkout_sessions().create(scope, CheckoutSessionCreate(invoice=invoice_id))
        pages.append(services.hosted_checkout().pay(session.token, method, session.form_token))
    assert stack.plumbing is not None
    stack.plumbing.drain()  # what the setup wrote went through the stream before counting
    units.reset()
    operations.take()
    for page in pages:
        fields = {"amount": str(PRICE // 100)} if account.provider == "whitepay" else {}
        assert _post_form(f"{page}/pay", fields) == 303, page  # its webhooks sent (and acknowledged) first
    units.settle()
    intake, intake_operations = units.requests, operations.take()
    stack.plumbing.drain()
    units.settle()
    processing = operations.take()
    for invoice_id in invoices:
        invoice = services.invoices().get(scope, invoice_id)
        assert (invoice.status, invoice.amount_due) == ("paid", 0), (invoice_id, invoice.status)
    assert intake_operations["PutItem"] == PAYMENTS * WEBHOOKS[account.provider], intake_operations
    print(f"[bench] {account.provider}, {PAYMENTS} payments: intake {dict(intake_operations)}, "
          f"processing {dict(processing)}", file=sys.stderr, flush=True)  # fmt: skip
    return Paid(account, units.requests, intake, _sample(stack, account, pages[0]))


def _sample(stack: EmbeddedStack, account: Account, page: str) -> dict[str, Any]:
    """The provider's object behind a paid page, as its API shows it (what its webhook carried)."""
    assert stack.standins is not None
    environment, object_id = stack.standins.environment(), urlsplit(page).path.rsplit("/", 1)[1]
    if account.provider == "stripe":
        url = f"{environment['STRIPE_API_BASE']}/v1/checkout/sessions/{object_id}"
        return _get_json(url, account.credentials["api_key"])
    url = f"{environment['WHITEPAY_API_BASE']}/private-api/crypto-orders/{account.credentials['slug']}/{object_id}"
    order: dict[str, Any] = _get_json(url, account.credentials["token"])["order"]
    return order


@dataclass(frozen=True)
class Webhook:
    provider: str
    endpoint_id: str
    body: bytes
    headers: dict[str, str]


def _copies(paid: Paid, count: int) -> list[Webhook]:
    """``count`` webhooks of ``paid``'s provider about copies of its sample under new ids, signed
    as its stand-in signs them."""
    from infra.local.standins import stripe, whitepay

    account, webhooks = paid.account, []
    for _ in range(count):
        copied = copy.deepcopy(paid.sample)
        if account.provider == "stripe":
            copied["id"] = "cs_test_" + uuid.uuid4().hex + uuid.uuid4().hex[:16]
            body, headers = stripe.signed("checkout.session.completed", copied, account.secret)
        else:
            copied["id"] = str(uuid.uuid4())
            body, headers = whitepay.signed(whitepay.order_event(copied, "order::completed"), account.secret)
        webhooks.append(Webhook(account.provider, account.endpoint_id, body, headers))
    return webhooks


def _acks(stack: EmbeddedStack, events: list[Webhook]) -> float:
    """Post ``events`` from ``CLIENTS`` keep-alive connections; acknowledged per second."""
    port = urlsplit(stack.api_url).port
    assert port is not None
    shares = [events[n::CLIENTS] for n in range(CLIENTS)]

    def send(share: list[Webhook]) -> int:
        connection, sent = http.client.HTTPConnection("127.0.0.1", port, timeout=120), 0
        for event in share:
            headers = {"Content-Type": "application/json", **event.headers}
            connection.request("POST", f"/webhooks/{event.provider}/{event.endpoint_id}", event.body, headers)
            answer = connection.getresponse()
            receipt = json.loads(answer.read())
            if answer.status != 200 or receipt.get("duplicate") is not False:
                raise RuntimeError(f"webhook refused: {answer.status} {receipt}")
            sent += 1
        connection.close()
        return sent

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        acknowledged = sum(pool.map(send, shares))
    elapsed = time.perf_counter() - started
    assert acknowledged == len(events)
    return acknowledged / elapsed


def _baseline(scope: Scope, accounts: dict[str, Account], events: list[Webhook], signed_at: datetime) -> float:
    """The same number of conditional puts and queued messages, raw (see the module); the items
    and messages are made first, untimed, by the intake's own code."""
    import boto3

    from billing.adapters import provider_event_queue
    from billing.adapters.dynamodb import provider_events, table
    from billing.payments.provider_events import EventRef
    from billing.payments.providers import PROVIDERS

    now, work = datetime.now(UTC), []
    for event in events:  # what the intake wrote and sent for each, under new keys
        credentials = PROVIDERS[event.provider].Credentials.model_validate(accounts[event.provider].credentials)
        verified = PROVIDERS[event.provider].verify(credentials, event.body, event.headers, signed_at)
        ref = EventRef(scope, event.provider, "raw-" + verified.id)
        message = provider_event_queue.message(ref)
        work.append((table.encode(provider_events.to_item(ref, verified, event.body, now)),
                     json.dumps(message, separators=(",", ":")), uuid.uuid4().hex))  # fmt: skip
    ddb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    name = f"raw-events-{uuid.uuid4().hex[:6]}"
    ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                              {"AttributeName": "SK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )  # fmt: skip
    queue = sqs.create_queue(
        QueueName=f"{name}.fifo",
        Attributes={
            "FifoQueue": "true",
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        },
    )["QueueUrl"]

    def send(share: list[tuple[dict[str, Any], str, str]]) -> int:
        for item, body, digest in share:
            ddb.put_item(TableName=name, Item=item, ConditionExpression="attribute_not_exists(PK)",
                         ReturnValuesOnConditionCheckFailure="ALL_OLD")  # fmt: skip
            sqs.send_message(QueueUrl=queue, MessageBody=body, MessageGroupId=digest, MessageDeduplicationId=digest)
        return len(share)

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        done = sum(pool.map(send, [work[n::CLIENTS] for n in range(CLIENTS)]))
    return done / (time.perf_counter() - started)
