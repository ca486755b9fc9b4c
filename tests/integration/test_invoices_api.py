"""Invoicing through the HTTP API against the embedded endpoint: a test clock drives a
subscription through its periods; invoices are drafted, finalized with gap-free numbers,
rendered as PDFs, corrected by credit notes, voided; invoice runs fan out through SQS."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from pypdf import PdfReader

from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api

JAN = "2026-01-01T00:00:00Z"


def tariff(api: Api, key: str) -> None:
    assert api.post("/v1/meters", key, {"code": "calls", "name": "API calls", "aggregation": "count"}).status == 201
    plan = {
        "code": "pro", "name": "Pro", "currency": "USD", "interval": "month", "base_fee": 4900,
        "charges": [{"meter": "calls", "model": "package", "package_size": 10, "unit_amount": "100"}],
    }  # fmt: skip
    assert api.post("/v1/plans", key, plan).status == 201
    rate = {"name": "VAT", "percent": "20", "inclusive": True, "country": "DE"}
    assert api.post("/v1/tax_rates", key, rate).status == 201


def on_clock(api: Api, key: str, frozen: str = JAN) -> tuple[str, str, str]:
    clock = api.post("/v1/test_clocks", key, {"frozen_time": frozen, "name": "January"})
    assert clock.status == 201, clock.body
    body = {"name": "Клиент Иванов", "address": {"country": "DE"}, "test_clock": clock.body["id"]}
    customer = api.post("/v1/customers", key, body).body["id"]
    sub = api.post("/v1/subscriptions", key, {"customer": customer, "plan": "pro"})
    assert sub.status == 201, sub.body
    assert sub.body["start_date"] == frozen  # the clock's time, not the wall clock's
    return clock.body["id"], customer, sub.body["id"]


def listed(api: Api, key: str, **query: str) -> list[dict[str, Any]]:
    suffix = "&".join(f"{k}={v}" for k, v in query.items())
    reply = api.get(f"/v1/invoices?{suffix}", key)
    assert reply.status == 200, reply.body
    return list(reversed(reply.body["data"]))


def test_a_test_clock_drives_a_subscription_through_its_periods(api: Api, key: str, stack: EmbeddedStack) -> None:
    tariff(api, key)
    clock, customer, sub = on_clock(api, key)
    assert api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-01-15T00:00:00Z"}).status == 200
    batch = [{"transaction_id": f"c{n}", "customer": customer, "code": "calls", "timestamp": "2026-01-10T00:00:00Z"}
             for n in range(121)]  # fmt: skip
    reply = api.post("/v1/events/batch", key, {"events": batch})
    assert reply.body["accepted"] == 121, reply.body  # timestamps checked against the clock, not today
    assert stack.plumbing is not None
    stack.plumbing.drain()
    advanced = api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-02-01T02:00:00Z"})
    assert advanced.status == 200 and advanced.body["frozen_time"] == "2026-02-01T02:00:00Z"
    first, second = listed(api, key, subscription=sub)
    assert [i["id"] for i in listed(api, key, customer=customer)] == [first["id"], second["id"]]
    assert [(line["type"], line["amount"]) for line in first["lines"]] == [("subscription_fee", 4900), ("tax", 817)]
    assert first["number"].endswith("-2026-000001") and first["issued_at"] == "2026-01-01T01:00:00Z"
    # January's 121 calls (13 started packages of 10) in arrears, February's fee in advance, VAT included
    assert [(line["type"], line["amount"]) for line in second["lines"]] == [
        ("subscription_fee", 4900), ("usage", 1300), ("tax", 817 + 217)]  # fmt: skip
    assert second["number"].endswith("-2026-000002") and second["status"] == "open"
    assert (second["total"], second["due_date"]) == (6200, "2026-02-15T01:00:00Z")

    pdf = api.request("GET", f"/v1/invoices/{second['id']}/pdf", key, accept="application/pdf")
    assert pdf.status == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.raw)).pages)
    assert second["number"] in text and "Клиент Иванов" in text and "USD 62.00" in text

    note = api.post("/v1/credit_notes", key, {"invoice": second["id"], "lines": [{"line": second["lines"][1]["id"]}]})
    assert note.status == 201, note.body
    assert note.body["total"] == 1300 and note.body["number"].endswith("-CN-2026-000001")
    after = api.get(f"/v1/invoices/{second['id']}", key).body
    assert (after["amount_due"], after["amount_credited"]) == (4900, 1300)
    ledger = api.get(f"/v1/customers/{customer}/ledger", key).body
    assert ledger["balances"]["receivable"] == 4900 + 6200 - 1300 and len(ledger["entries"]) == 3

    voided = api.post(f"/v1/invoices/{first['id']}/void", key)
    assert voided.status == 200 and voided.body["status"] == "void"
    assert api.post(f"/v1/invoices/{first['id']}/finalize", key).body["error"]["code"] == "invoice_not_draft"
    upcoming = api.get(f"/v1/customers/{customer}/upcoming_invoice", key)
    assert upcoming.status == 200 and upcoming.body["lines"][0]["amount"] == 4900


def test_an_invoice_run_fans_out_and_bills_each_due_subscription_once(api: Api, key: str, stack: EmbeddedStack) -> None:
    tariff(api, key)
    customers = [api.post("/v1/customers", key, {"name": f"Run {n}"}).body["id"] for n in range(5)]
    subs = [api.post("/v1/subscriptions", key, {"customer": c, "plan": "pro"}).body["id"] for c in customers]
    run = api.post("/v1/invoice_runs", key, {})
    assert run.status == 202 and run.body["status"] == "running", run.body
    assert stack.plumbing is not None
    stack.plumbing.drain()
    done = api.get(f"/v1/invoice_runs/{run.body['id']}", key).body
    assert done["status"] == "completed", done
    assert done["counts"]["subscriptions"] == 5 and done["counts"]["invoices_created"] == 5
    again = api.post("/v1/invoice_runs", key, {}).body
    stack.plumbing.drain()
    assert api.get(f"/v1/invoice_runs/{again['id']}", key).body["counts"]["invoices_created"] == 0
    for sub in subs:
        assert len(listed(api, key, subscription=sub)) == 1
    assert (
        api.post("/v1/invoice_runs", key, {"as_of": "2100-01-01T00:00:00Z"}).body["error"]["code"] == "as_of_in_future"
    )


def test_a_subscription_that_cannot_be_rated_fails_alone_in_a_run(api: Api, key: str, stack: EmbeddedStack) -> None:
    assert api.patch("/v1/settings", key, {"grace_period": 10 * 24 * 3600}).status == 200
    assert (
        api.post("/v1/meters", key, {"code": "bytes", "name": "Bytes", "aggregation": "sum", "field": "n"}).status
        == 201
    )
    huge = {"code": "huge", "name": "Huge", "currency": "USD", "interval": "month",
            "charges": [{"meter": "bytes", "model": "per_unit", "unit_amount": "1000000000000"}]}  # fmt: skip
    assert api.post("/v1/plans", key, huge).status == 201
    start = (datetime.now(UTC) - timedelta(days=33)).strftime("%Y-%m-%dT%H:%M:%SZ")
    customer = api.post("/v1/customers", key, {"name": "Too big"}).body["id"]
    bad = api.post("/v1/subscriptions", key, {"customer": customer, "plan": "huge", "start_date": start}).body["id"]
    event = {
        "transaction_id": "b1",
        "customer": customer,
        "code": "bytes",
        "timestamp": start,
        "properties": {"n": 10**14},
    }
    assert api.post("/v1/events", key, event).status == 202
    assert stack.plumbing is not None
    stack.plumbing.drain()
    run = api.post("/v1/invoice_runs", key, {}).body
    stack.plumbing.drain()
    done = api.get(f"/v1/invoice_runs/{run['id']}", key).body
    assert done["status"] == "completed" and done["counts"]["failed"] == 1, done
    assert [(f["id"], f["code"]) for f in done["failures"]] == [(bad, "amount_out_of_range")]


def test_concurrent_finalizations_take_consecutive_numbers(api: Api, key: str, stack: EmbeddedStack) -> None:
    tariff(api, key)
    assert api.patch("/v1/settings", key, {"grace_period": 86400, "invoice_prefix": "CONC"}).status == 200
    for n in range(8):
        customer = api.post("/v1/customers", key, {"name": f"Conc {n}"}).body["id"]
        assert api.post("/v1/subscriptions", key, {"customer": customer, "plan": "pro"}).status == 201
    api.post("/v1/invoice_runs", key, {})
    assert stack.plumbing is not None
    stack.plumbing.drain()
    drafts = [i["id"] for i in listed(api, key, status="draft")]
    assert len(drafts) == 8
    errors: list[Any] = []

    def finalize(invoice_id: str) -> None:
        reply = api.post(f"/v1/invoices/{invoice_id}/finalize", key)
        if reply.status != 200:
            errors.append(reply.body)

    threads = [threading.Thread(target=finalize, args=(i,)) for i in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finalized = listed(api, key, status="open")
    year = finalized[0]["issued_at"][:4]
    assert not errors and sorted(i["number"] for i in finalized) == [f"CONC-{year}-{n:06d}" for n in range(1, 9)]


def test_invoicing_refuses_bad_requests_with_the_field_named(api: Api, key: str) -> None:
    tariff(api, key)
    api.post("/v1/plans", key, {"code": "yen", "name": "Yen", "currency": "JPY", "interval": "month", "base_fee": 980})
    customer = api.post("/v1/customers", key, {"name": "Bad Input Co"}).body["id"]
    sub = api.post("/v1/subscriptions", key, {"customer": customer, "plan": "pro"}).body["id"]
    refused = api.get(f"/v1/subscriptions/{sub}/change_preview?plan=yen", key)
    assert (refused.status, refused.body["error"]["code"]) == (422, "currency_mismatch")
    missing = api.get(f"/v1/subscriptions/{sub}/change_preview?plan=nope", key)
    assert (missing.status, missing.body["error"]["param"]) == (400, "plan")
    note = api.post("/v1/credit_notes", key, {"invoice": "inv_01kkrnw4g02kp31g6gkjjhzw2x"})
    assert (note.status, note.body["error"]["code"], note.body["error"]["param"]) == (
        400,
        "resource_missing",
        "invoice",
    )
    ghost_sub = "sub_01kkrnw4g02kp31g6gkjjhzw2x"
    upcoming = api.get(f"/v1/customers/{customer}/upcoming_invoice?subscription={ghost_sub}", key)
    assert (upcoming.status, upcoming.body["error"]["param"]) == (404, "subscription")
    run = api.post("/v1/invoice_runs", key, {"filters": {"colour": "red"}})
    assert (run.status, run.body["error"]["param"]) == (400, "filters.colour")
    clock = api.post("/v1/test_clocks", key, {"frozen_time": "2026-01-01T00:00:00Z"}).body["id"]
    back = api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2025-12-01T00:00:00Z"})
    assert (back.status, back.body["error"]["code"]) == (422, "clock_not_forward")


def test_pdf_of_a_draft_and_refusals(api: Api, key: str, stack: EmbeddedStack) -> None:
    tariff(api, key)
    api.patch("/v1/settings", key, {"grace_period": 3600})
    customer = api.post("/v1/customers", key, {"name": "Draft Co"}).body["id"]
    api.post("/v1/subscriptions", key, {"customer": customer, "plan": "pro"})
    api.post("/v1/invoice_runs", key, {})
    assert stack.plumbing is not None
    stack.plumbing.drain()
    [draft] = listed(api, key, customer=customer)
    assert draft["status"] == "draft" and draft["number"] is None
    odd = api.post(f"/v1/invoices/{draft['id']}/finalize", key, {"foo": 1})
    assert (odd.status, odd.body["error"]["param"]) == (400, "foo")
    as_json = api.request("GET", f"/v1/invoices/{draft['id']}/pdf", key, accept="application/json")
    assert (as_json.status, as_json.body["error"]["code"]) == (406, "not_acceptable")
    pdf = api.request("GET", f"/v1/invoices/{draft['id']}/pdf", key, accept="application/pdf")
    assert pdf.status == 200 and b"DRAFT" in b"".join(
        page.extract_text().encode() for page in PdfReader(io.BytesIO(pdf.raw)).pages
    )
    # curl sends no Accept (or */*), browsers a list ending in */*: each gets the PDF
    for accept in ({}, {"accept": "*/*"}, {"accept": "application/*"}, {"accept": "text/html, */*;q=0.8"}):
        served = api.request("GET", f"/v1/invoices/{draft['id']}/pdf", key, **accept)
        assert served.status == 200 and served.raw.startswith(b"%PDF-"), (accept, served.body)
        assert served.headers["Content-Type"] == "application/pdf"
    forged = api.request("GET", f"/v1/invoices/{draft['id']}/pdf", key, host="evil.example", x_forwarded_proto="https")
    links = [a.get_object()["/A"]["/URI"] for a in PdfReader(io.BytesIO(forged.raw)).pages[0]["/Annots"]]
    assert links == [f"{stack.api_url}/pay/{draft['id']}"]  # the configured base URL, never the Host header
    final = api.post(f"/v1/invoices/{draft['id']}/finalize", key)
    assert final.status == 200 and final.body["number"]
