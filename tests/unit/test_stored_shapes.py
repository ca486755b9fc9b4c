"""Storage items have shapes of their own (``to_item``/``from_item`` in each adapter), not the
API's JSON, so renaming a field of the API never becomes a data migration; and items stored in
the older shapes (the API's JSON kept whole) are still read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from billing.adapters.dynamodb import customers, idempotency, outbox, table, tenants, testclocks
from billing.customers import Customer
from billing.events import DomainEvent
from billing.idempotency import StoredResponse
from billing.scope import Scope
from billing.tenant_settings import TenantSettings
from billing.tenants import ApiKey, Tenant
from billing.testclocks import TestClock as Clock  # not collected by pytest

SCOPE = Scope("ten_a", livemode=False)
AT = datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=UTC)
CLOCK = Clock(id="clock_1", name="March", frozen_time="2026-03-01T00:00:00Z", created_at="2026-02-01T00:00:00Z")
CUSTOMER = Customer(
    id="cus_1", livemode=False, created_at=AT, external_id="c-1", name="Jane", email="j@example.com",
    address={"country": "DE"}, tags=("vip",), metadata={"k": "v"}, tax_rates=("txr_1",),
    discounts=({"name": "Veteran", "percent_off": "50"},), test_clock="clock_1",
)  # fmt: skip
SETTINGS = TenantSettings(grace_period=60, payment_terms_days=30, invoice_prefix="ACME", business_name="Acme",
                          business_address=["1 Main St"], tax_id="DE1", support_email="help@acme.example",
                          underpayment_tolerance=50, sms_sender_id="ACME", prepaid_low_balance_threshold=500,
                          prepaid_at_zero="suspend", prepaid_auto_top_up=2000, portal_plans=["pro"])  # fmt: skip
"""Every field away from its default, so reading back what was stored checks each is stored."""
EVENT = DomainEvent(type="CustomerCreated", scope=SCOPE, occurred_at=AT, data={"object": {"id": "cus_1"}})
KEY = ApiKey(id="key_1", tenant_id="ten_a", livemode=True, digest="d" * 64, last4="abcd", created_at=AT)


API_SHAPES = [
    (Clock, "to_public"),
    (Clock, "model_dump"),
    (Customer, "to_public"),
    (TenantSettings, "to_public"),
    (TenantSettings, "model_dump"),
    (DomainEvent, "envelope"),
]


def stored(item: dict[str, Any]) -> dict[str, Any]:
    """The item as DynamoDB gives it back (numbers as Decimal, None attributes left out)."""
    return table.decode(table.encode(item))


def items() -> list[dict[str, Any]]:
    return [
        testclocks.to_item(SCOPE, CLOCK),
        customers.to_item(SCOPE, CUSTOMER),
        tenants.settings_to_item(SCOPE, SETTINGS),
        tenants.key_to_item(KEY),
        outbox.to_item([EVENT]),
    ]


def test_items_do_not_change_when_the_api_json_does(monkeypatch: pytest.MonkeyPatch) -> None:
    before = items()
    renamed = {"renamed": "field"}
    for cls, method in API_SHAPES:
        monkeypatch.setattr(cls, method, lambda *args, **kwargs: renamed)
    assert items() == before


def test_the_stored_settings_set_every_field() -> None:
    """Settings stored without a field lost it once the cache of the settings expired
    (``portal_plans``, ``underpayment_tolerance``): the round trip below needs every field set."""
    default = TenantSettings()
    assert [name for name in TenantSettings.model_fields if getattr(SETTINGS, name) == getattr(default, name)] == []


def test_items_read_back_as_they_were_written() -> None:
    assert testclocks.from_item(stored(testclocks.to_item(SCOPE, CLOCK))) == CLOCK
    assert customers.from_item(stored(customers.to_item(SCOPE, CUSTOMER))) == CUSTOMER
    assert tenants.settings_from_item(stored(tenants.settings_to_item(SCOPE, SETTINGS))) == SETTINGS
    assert tenants.key_from_item(stored(tenants.key_to_item(KEY))) == KEY
    tenant = Tenant(id="ten_a", name="Acme", created_at=AT)
    assert tenants.tenant_from_item(stored(tenants.tenant_to_item(tenant))) == tenant
    assert outbox.from_item(stored(outbox.to_item([EVENT]))) == [EVENT]
    assert outbox.envelopes_of(stored(outbox.to_item([EVENT]))) == [EVENT.envelope()]
    claim = idempotency.from_item(stored(idempotency.to_item(SCOPE, "k", "print", AT)))
    assert (claim.fingerprint, claim.response) == ("print", None)


def test_items_of_the_older_shapes_are_still_read() -> None:
    clock = {"PK": "x", "SK": "CLOCK", "entity": "test_clock", "revision": Decimal(2),
             "data": json.dumps(CLOCK.to_public())}  # fmt: skip
    assert testclocks.from_item(clock) == CLOCK.model_copy(update={"revision": 2})
    settings = {
        "PK": "x",
        "SK": "SETTINGS",
        "entity": "settings",
        "settings": {**SETTINGS.model_dump(), "grace_period": Decimal(60)},
    }
    assert tenants.settings_from_item(settings) == SETTINGS
    before = stored(tenants.settings_to_item(SCOPE, SETTINGS))  # written before two fields were stored
    del before["underpaid_ok"], before["portal_plans"]
    assert tenants.settings_from_item(before) == SETTINGS.model_copy(
        update={"underpayment_tolerance": 0, "portal_plans": []}
    )
    assert outbox.envelopes_of({"entity": "event", "body": json.dumps(EVENT.envelope())}) == [EVENT.envelope()]
    claim = idempotency.from_item({"fingerprint": "print", "status": Decimal(201), "body": '{"id":"cus_1"}'})
    assert claim.response == StoredResponse(status=201, body={"id": "cus_1"})


def test_a_field_at_its_default_is_not_stored_and_reads_back_as_it() -> None:
    """A field added to a model (``amount_written_off``) costs nothing in the items that leave
    it at its default: an invoice near 1 KB would otherwise cross into a second write unit."""
    from billing.adapters.dynamodb.invoices import INVOICE
    from billing.invoicing.model import Invoice

    invoice = Invoice.model_validate({
        "id": "inv_1", "livemode": False, "customer": "cus_1", "currency": "USD", "status": "open",
        "billing_reason": "subscription_cycle", "period_start": "2026-01-01T00:00:00Z",
        "period_end": "2026-02-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z", "total": 500,
    })  # fmt: skip
    top = {"customer": "cus_1", "period_start": "2026-01-01T00:00:00Z", "status": "open"}  # beside the body
    stored = INVOICE.dump(invoice)
    assert "awo" not in stored and "ap" not in stored and stored["t"] == 500
    assert INVOICE.load(stored, **top) == invoice
    written_off = invoice.model_copy(update={"amount_written_off": 3})
    assert INVOICE.dump(written_off)["awo"] == 3 and INVOICE.load(INVOICE.dump(written_off), **top) == written_off
