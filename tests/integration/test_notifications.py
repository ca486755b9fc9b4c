"""Customer notifications against the embedded stack: an event published on the bus goes through
``NotificationRule`` and ``NotificationQueue`` to the notifier, which mails (SES, with the PDF)
and texts (SNS) the customer; both are read back from the moto endpoint, and the customer's
delivery log shows them. A redelivered event sends nothing more."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from billing.adapters import aws, services
from billing.adapters.dynamodb import notifications
from billing.clock import to_wire
from billing.ids import new_id
from billing.invoicing.model import Invoice
from billing.scope import Scope
from billing.settings import get_settings
from infra.local import sent
from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api


def drain(stack: EmbeddedStack) -> None:
    assert stack.plumbing is not None
    stack.plumbing.drain()


def scope_of(api: Api, key: str) -> Scope:
    return services.tenants().authenticate(f"Bearer {key}")


def publish(scope: Scope, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    envelope = {"id": new_id("evt"), "type": kind, "tenant_id": scope.tenant_id, "livemode": scope.livemode,
                "occurred_at": to_wire(datetime.now(UTC)), "data": data}  # fmt: skip
    services.event_bus().publish(envelope)
    return envelope


def invoice(customer_id: str) -> dict[str, Any]:
    made = Invoice(id=new_id("inv"), livemode=False, customer=customer_id, number="INV-2026-000007", status="open",
                   billing_reason="manual", currency="RUB", period_start="2026-03-01T00:00:00Z",
                   period_end="2026-03-01T00:00:00Z", created_at="2026-03-01T00:00:00Z",
                   issued_at="2026-03-01T00:00:00Z", due_date="2026-03-15T00:00:00Z", subtotal=150050,
                   total=150050, amount_due=150050)  # fmt: skip
    return made.to_public()


def test_an_invoice_is_mailed_with_its_pdf_and_texted_once_in_the_customers_language(
    api: Api, key: str, stack: EmbeddedStack
) -> None:
    address, phone = f"{uuid.uuid4().hex[:10]}@example.com", f"+7999{uuid.uuid4().int % 10**7:07d}"
    assert api.patch("/v1/settings", key, {"business_name": "Тепло & Свет", "support_email": "help@teplo.test",
                                           "sms_sender_id": "Teplo"}).status == 200  # fmt: skip
    made = api.post("/v1/customers", key, {"name": "Иван <Петров>", "email": address, "phone": phone,
                                           "locale": "ru", "notification_channels": ["email", "sms"]})  # fmt: skip
    assert made.status == 201 and (made.body["locale"], made.body["notification_channels"]) == ("ru", ["email", "sms"])
    scope = scope_of(api, key)
    event = publish(scope, "InvoiceFinalized", {"object": invoice(made.body["id"])})
    drain(stack)

    (mail,) = sent.emails(stack.endpoint_url, to=address)
    assert mail.subject == "Счёт INV-2026-000007 от Тепло & Свет"
    assert mail.source == "notifications@billing.example.com" and "help@teplo.test" in str(mail.message["Reply-To"])
    assert "1\u00a0500,50\u00a0RUB" in mail.body() and "15 марта 2026" in mail.body()
    assert "Иван &lt;Петров&gt;" in mail.body("html") and "Тепло &amp; Свет" in mail.body("html")
    ((name, pdf),) = mail.attachments().items()
    assert name == "invoice-INV-2026-000007.pdf" and pdf.startswith(b"%PDF")
    (text,) = sent.sms(stack.endpoint_url, to=phone)
    assert text.message.startswith("Тепло & Свет: счёт INV-2026-000007")

    services.event_bus().publish(event)  # the bus delivers at least once
    drain(stack)
    assert len(sent.emails(stack.endpoint_url, to=address)) == 1 and len(sent.sms(stack.endpoint_url, to=phone)) == 1

    listed = api.get(f"/v1/customers/{made.body['id']}/notifications", key)
    assert listed.status == 200, listed.body
    logged = {(n["channel"], n["status"], n["to"], n["event"], n["type"]) for n in listed.body["data"]}
    assert logged == {("email", "sent", address, event["id"], "InvoiceFinalized"),
                      ("sms", "sent", phone, event["id"], "InvoiceFinalized")}  # fmt: skip
    assert {n["message_id"] for n in listed.body["data"]} == {mail.id, text.id}


def test_an_opted_out_customer_still_gets_the_final_notice_with_its_document(
    api: Api, key: str, stack: EmbeddedStack
) -> None:
    address = f"{uuid.uuid4().hex[:10]}@example.com"
    made = api.post("/v1/customers", key, {"email": address, "notification_channels": []}).body
    scope = scope_of(api, key)
    document = f"{scope.key}/notices/{uuid.uuid4().hex}.pdf"
    bucket = get_settings().documents_bucket
    aws.client("s3").put_object(Bucket=bucket, Key=document, Body=b"%PDF-1.4 debtor notice")
    publish(scope, "PaymentSucceeded", {"object": {"id": new_id("pay"), "customer": made["id"], "amount": 100,
                                                   "amount_received": 100, "currency": "USD", "status": "succeeded",
                                                   "created_at": "2026-03-02T10:00:00Z"}})  # fmt: skip
    debt = {"currency": "RUB", "principal": 150050, "late_fees": 5000, "penalty_interest": 120, "total": 155170}
    publish(scope, "InvoiceFinalNotice", {"object": invoice(made["id"]), "customer": made["id"], "debt": debt,
                                          "document": document, "checkout_url": None})  # fmt: skip
    drain(stack)
    (mail,) = sent.emails(stack.endpoint_url, to=address)
    assert mail.subject == "Final notice: pay RUB 1,551.70 now"
    assert list(mail.attachments().values()) == [b"%PDF-1.4 debtor notice"]
    logged = api.get(f"/v1/customers/{made['id']}/notifications", key).body["data"]
    assert sorted((n["type"], n["status"], n["reason"]) for n in logged) == [
        ("InvoiceFinalNotice", "sent", None), ("PaymentSucceeded", "skipped", "opted_out")]  # fmt: skip


def test_preferences_are_validated_naming_the_field(api: Api, key: str) -> None:
    refused = api.post("/v1/customers", key, {"locale": "de"})
    assert refused.status == 400 and refused.body["error"]["param"] == "locale"
    made = api.post("/v1/customers", key, {"name": "Prefs"}).body
    assert (made["locale"], made["notification_channels"]) == ("en", ["email"])
    bad = api.patch(f"/v1/customers/{made['id']}", key, {"notification_channels": ["fax"]})
    assert bad.status == 400 and bad.body["error"]["param"].startswith("notification_channels")
    assert api.patch(f"/v1/customers/{made['id']}", key, {"notification_channels": None}).status == 400
    changed = api.patch(f"/v1/customers/{made['id']}", key, {"notification_channels": [], "locale": "ru"})
    assert changed.status == 200 and (changed.body["locale"], changed.body["notification_channels"]) == ("ru", [])
    assert api.get(f"/v1/customers/{made['id']}/notifications", key).body["data"] == []
    assert api.get("/v1/customers/cus_00000000000000000000000000/notifications", key).status == 404
    assert api.get(f"/v1/customers/{made['id']}/notifications?starting_after=x", key).status == 400
    refused_sender = api.patch("/v1/settings", key, {"sms_sender_id": "12345"})
    assert refused_sender.status == 400 and refused_sender.body["error"]["param"] == "sms_sender_id"


@pytest.fixture
def one_send_a_minute(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The notifier built again with an allowance of one send a minute (and as before after)."""
    monkeypatch.setattr(notifications, "PER_MINUTE", 1)
    services.notifier.cache_clear()
    yield
    services.notifier.cache_clear()


@pytest.mark.usefixtures("one_send_a_minute")
def test_a_tenant_over_its_allowance_has_its_event_postponed_not_lost(api: Api, key: str, stack: EmbeddedStack) -> None:
    address = f"{uuid.uuid4().hex[:10]}@example.com"
    made = api.post("/v1/customers", key, {"email": address}).body
    scope = scope_of(api, key)
    for _ in range(2):
        publish(
            scope, "CustomerBalanceLow", {"customer": made["id"], "currency": "RUB", "balance": 100, "threshold": 500}
        )
    drain(stack)
    assert len(sent.emails(stack.endpoint_url, to=address)) == 1
    logged = api.get(f"/v1/customers/{made['id']}/notifications", key).body["data"]
    assert sorted((n["status"], n["reason"]) for n in logged) == [("failed", "rate_limited"), ("sent", None)]
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=stack_queue(stack, "NotificationQueue"))["QueueUrl"]
    counts = ["ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessages"]
    waiting = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=counts)["Attributes"]
    assert sum(int(waiting[name]) for name in counts) >= 1  # kept on the queue: hidden until the next minute


def stack_queue(stack: EmbeddedStack, logical_id: str) -> str:
    assert stack.stack is not None
    url: str = stack.stack.refs[logical_id]
    return url.rsplit("/", 1)[1]
