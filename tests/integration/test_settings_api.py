"""Settings are kept per mode: a test key never changes what live invoices use."""

from __future__ import annotations

import io

from pypdf import PdfReader

from billing.adapters.dynamodb import table
from billing.tenants import TenantService
from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api

LIVE = {"invoice_prefix": "LIVE", "business_name": "Live Books Inc.", "business_address": ["1 Live St"],
        "support_email": "live@acme.example", "payment_terms_days": 30, "grace_period": 0}  # fmt: skip
TEST = {"invoice_prefix": "TEST", "business_name": "Sandbox Ltd", "business_address": ["9 Sandbox Rd"],
        "support_email": "test@acme.example", "payment_terms_days": 3, "grace_period": 7200}  # fmt: skip


def test_a_test_key_changes_only_test_mode_settings(api: Api, tenants: TenantService, stack: EmbeddedStack) -> None:
    tenant, issued = tenants.create_tenant("Two Modes")
    test_key, live_key = issued.secret, tenants.create_key(tenant.id, livemode=True).secret
    assert api.patch("/v1/settings", live_key, LIVE).status == 200
    changed = api.patch("/v1/settings", test_key, TEST)
    assert changed.status == 200 and changed.body["livemode"] is False
    live = api.get("/v1/settings", live_key).body
    assert {name: live[name] for name in LIVE} == LIVE and live["livemode"] is True
    assert {name: value for name, value in api.get("/v1/settings", test_key).body.items() if name in TEST} == TEST

    # a live invoice: numbered, due and printed with the live settings
    plan = {"code": "basic", "name": "Basic", "currency": "USD", "interval": "month", "base_fee": 1500}
    assert api.post("/v1/plans", live_key, plan).status == 201
    customer = api.post("/v1/customers", live_key, {"name": "Live Customer"}).body["id"]
    subscription = {"customer": customer, "plan": "basic", "trial_days": 0}
    assert api.post("/v1/subscriptions", live_key, subscription).status == 201
    assert api.post("/v1/invoice_runs", live_key, {}).status == 202
    assert stack.plumbing is not None
    stack.plumbing.drain()
    [invoice] = api.get(f"/v1/invoices?customer={customer}", live_key).body["data"]
    if invoice["status"] == "draft":  # the run finalizes it once the grace period (0) is over
        invoice = api.post(f"/v1/invoices/{invoice['id']}/finalize", live_key).body
    assert invoice["number"].startswith("LIVE-") and invoice["livemode"] is True
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(
        api.get(f"/v1/invoices/{invoice['id']}/pdf", live_key).raw)).pages)  # fmt: skip
    assert "Live Books Inc." in text and "live@acme.example" in text and "1 Live St" in text
    assert "Sandbox" not in text and "test@acme.example" not in text


def test_a_new_mode_starts_from_the_defaults(api: Api, tenants: TenantService) -> None:
    tenant, issued = tenants.create_tenant("Fresh")
    test_key, live_key = issued.secret, tenants.create_key(tenant.id, livemode=True).secret
    assert api.patch("/v1/settings", test_key, {"invoice_prefix": "SBX"}).status == 200
    live = api.get("/v1/settings", live_key).body
    assert (live["invoice_prefix"], live["grace_period"], live["business_name"]) == ("INV", 3600, None)


def test_settings_stored_before_modes_were_separate_are_the_live_modes(api: Api, tenants: TenantService) -> None:
    tenant, issued = tenants.create_tenant("Legacy")
    test_key, live_key = issued.secret, tenants.create_key(tenant.id, livemode=True).secret
    legacy = {"grace_period": 60, "payment_terms_days": 45, "invoice_prefix": "OLD", "business_name": "Old Co",
              "business_address": ["Old Rd 1"], "tax_id": None, "support_email": None}  # fmt: skip
    table.client().update_item(  # how settings were stored: one set, on the tenant item
        TableName=table.table_name(),
        Key=table.encode({"PK": f"TENANT#{tenant.id}", "SK": "TENANT"}),
        UpdateExpression="SET settings = :s",
        ExpressionAttributeValues=table.encode({":s": legacy}),
    )
    live = api.get("/v1/settings", live_key).body
    assert {name: live[name] for name in legacy} == legacy
    assert api.get("/v1/settings", test_key).body["invoice_prefix"] == "INV"
    changed = api.patch("/v1/settings", live_key, {"payment_terms_days": 10}).body  # the rest carries over
    assert (changed["invoice_prefix"], changed["payment_terms_days"], changed["business_name"]) == ("OLD", 10, "Old Co")
    assert api.get("/v1/settings", live_key).body["payment_terms_days"] == 10
