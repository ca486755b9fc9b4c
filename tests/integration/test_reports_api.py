"""Reports on the embedded stack: subscriptions, invoices, a payment and a credit note made
through the API, their events carried by the bus to the reports aggregator (drained), and the
figures checked against the same data worked out here by hand; then the rebuild computes the
same figures from the source records, and an event delivered again changes nothing."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from billing.adapters import services
from billing.tenants import TenantService
from infra.local.stack import EmbeddedStack
from tests.integration.conftest import Api


def ok(reply: Any, status: int = 200) -> Any:
    assert reply.status == status, reply.body
    return reply.body


def customer(api: Api, key: str, name: str, **fields: Any) -> str:
    return str(ok(api.post("/v1/customers", key, {"name": name, "currency": "USD", **fields}), 201)["id"])


def billed_now(api: Api, key: str, customer_id: str, amount: int) -> dict[str, Any]:
    item = ok(api.post("/v1/invoice_items", key, {"customer": customer_id, "amount": amount, "currency": "USD",
                                                    "description": "Setup", "invoice_now": True}), 201)  # fmt: skip
    return dict(ok(api.get(f"/v1/invoices/{item['invoice']}", key)))


def world(api: Api, key: str, stack: EmbeddedStack) -> dict[str, Any]:
    for body in (
        {"code": "basic", "name": "Basic", "currency": "USD", "interval": "month", "base_fee": 1000},
        {"code": "pro", "name": "Pro", "currency": "USD", "interval": "year", "base_fee": 120_000},
    ):
        ok(api.post("/v1/plans", key, body), 201)
    north = customer(api, key, '=HYPERLINK("http://x")', address={"region": "north"}, tags=["vip"])
    south = customer(api, key, "South", address={"region": "south"})
    trial = customer(api, key, "Trial")
    gone = customer(api, key, "Gone")
    for who, plan, extra in ((north, "basic", {}), (south, "pro", {}), (trial, "basic", {"trial_days": 14})):
        ok(api.post("/v1/subscriptions", key, {"customer": who, "plan": plan, **extra}), 201)
    canceled = ok(api.post("/v1/subscriptions", key, {"customer": gone, "plan": "basic"}), 201)
    ok(api.post(f"/v1/subscriptions/{canceled['id']}/cancel", key, {"when": "now"}))
    # an overdue invoice: issued 50 days ago on a test clock
    frozen = (datetime.now(UTC) - timedelta(days=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
    clock = ok(api.post("/v1/test_clocks", key, {"frozen_time": frozen}), 201)["id"]
    late = customer(api, key, "Late", test_clock=clock)
    current = billed_now(api, key, north, 5000)
    overdue = billed_now(api, key, late, 7000)
    payment = ok(api.post("/v1/payments", key, {"customer": north, "amount": 2000, "currency": "USD",
                                                 "channel": "bank_transfer"}), 201)  # fmt: skip
    credit = {"invoice": overdue["id"], "lines": [{"line": overdue["lines"][0]["id"], "amount": 1000}]}
    note = ok(api.post("/v1/credit_notes", key, credit), 201)
    assert stack.plumbing is not None
    stack.plumbing.drain()
    return {"current": current, "overdue": overdue, "payment": payment, "note": note, "north": north, "late": late}


def test_reports_agree_with_the_data_worked_out_by_hand(api: Api, key: str, tenants: TenantService,
                                                        stack: EmbeddedStack) -> None:  # fmt: skip
    made = world(api, key, stack)
    today = datetime.now(UTC).date()
    month = today.isoformat()[:7]

    # MRR: basic 1000/month (north), pro 120,000/year = 10,000/month (south); the trial counts 0,
    # the canceled one was new and churned this month.
    mrr = ok(api.get("/v1/reports/mrr?currency=USD", key))
    assert (mrr["mrr"], mrr["arr"]) == (11_000, 132_000)
    assert mrr["movements"] == {"new": 12_000, "expansion": 0, "contraction": 0, "churn": 1000, "reactivation": 0}
    assert mrr["series"][-1] == {"month": month, "mrr": 11_000} and len(mrr["series"]) == 12
    assert ok(api.get("/v1/reports/mrr?currency=USD&region=north", key))["mrr"] == 1000
    assert ok(api.get("/v1/reports/mrr?currency=USD&plan=pro", key))["mrr"] == 10_000
    assert ok(api.get("/v1/reports/mrr?currency=EUR", key))["mrr"] == 0

    plans = ok(api.get("/v1/reports/plans?currency=USD&months=2", key))["data"]
    assert [(p["plan"], p["active_subscriptions"], p["mrr"]) for p in plans] == [("pro", 1, 10_000), ("basic", 1, 1000)]

    # Aging: 5,000 - 2,000 paid, not due yet; 7,000 - 1,000 credited, 36 days past due.
    current, overdue = made["current"], made["overdue"]
    late_days = (today - date.fromisoformat(overdue["due_date"][:10])).days
    assert 31 <= late_days <= 60
    aging = ok(api.get("/v1/reports/aging?currency=USD", key))
    assert aging["buckets"] == {"current": 3000, "1_30": 0, "31_60": 6000, "61_90": 0, "90_plus": 0}
    assert (aging["total"], aging["open_invoices"]) == (9000, 2)
    invoiced_window = 5000 + 7000  # both issued within the window (the 1st of two months before, to today)
    days = (today - _window_start(today)).days + 1
    assert aging["dso"] == str((Decimal(9000) * days / invoiced_window).quantize(Decimal("0.1"), ROUND_HALF_EVEN))
    assert aging["collection_rate"] == str((Decimal(2000) / invoiced_window).quantize(Decimal("0.0001")))

    revenue = ok(api.get("/v1/reports/revenue?currency=USD", key))
    by_month = {row["group"]: row for row in revenue["data"]}
    expected: dict[str, dict[str, int]] = {}
    for invoice in (current, overdue):
        expected.setdefault(invoice["issued_at"][:7], {"invoiced": 0, "collected": 0, "credited": 0})
        expected[invoice["issued_at"][:7]]["invoiced"] += invoice["total"]
    expected.setdefault(made["payment"]["created_at"][:7], {"invoiced": 0, "collected": 0, "credited": 0})
    expected[made["payment"]["created_at"][:7]]["collected"] += 2000
    expected.setdefault(made["note"]["created_at"][:7], {"invoiced": 0, "collected": 0, "credited": 0})
    expected[made["note"]["created_at"][:7]]["credited"] += 1000
    for row_month, figures in expected.items():
        assert {k: by_month[row_month][k] for k in figures} == figures
    assert revenue["total"] == {"invoiced": 12_000, "collected": 2000, "credited": 1000}

    debtors = ok(api.get("/v1/reports/debtors?currency=USD", key))["data"]
    assert [(d["customer"], d["amount"], d["open_invoices"]) for d in debtors] == [
        (made["late"], 6000, 1), (made["north"], 3000, 1)]  # fmt: skip
    assert debtors[0]["oldest_due_date"] == overdue["due_date"][:10] and debtors[0]["days_past_due"] == late_days
    assert debtors[1]["access_status"] == "active"

    sheet = api.get("/v1/reports/debtors?currency=USD&format=csv", key)
    assert sheet.status == 200 and sheet.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in sheet.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(sheet.raw.decode())))
    assert table[0][:3] == ["customer", "name", "amount"] and table[2][1] == '\'=HYPERLINK("http://x")'

    # The rebuild computes the same figures from the source records.
    scope = tenants.authenticate(f"Bearer {key}")
    paths = ["mrr?currency=USD", "mrr?currency=USD&region=north", "plans?currency=USD", "aging?currency=USD",
             "revenue?currency=USD", "revenue?currency=USD&group_by=supplier", "debtors?currency=USD"]  # fmt: skip
    maintained = {path: ok(api.get(f"/v1/reports/{path}", key)) for path in paths}
    services.reports_rebuild().run(scope)
    assert {path: ok(api.get(f"/v1/reports/{path}", key)) for path in paths} == maintained

    # An event delivered again, or late, changes nothing.
    envelope = {"id": "evt_again", "type": "InvoicePaid", "tenant_id": scope.tenant_id, "livemode": False,
                "occurred_at": current["issued_at"], "data": {"object": current}}  # fmt: skip
    services.reports_aggregator().handle(envelope)
    assert services.reports_aggregator().handle(envelope) is False
    assert {path: ok(api.get(f"/v1/reports/{path}", key)) for path in paths} == maintained


def test_bad_report_queries_name_their_parameter(api: Api, key: str) -> None:
    for query, param in (("", "currency"), ("currency=usd", "currency"), ("currency=USD&as_of=2026-13-01", "as_of"),
                         ("currency=USD&months=0", "months"), ("currency=USD&region=a&tag=b", "tag"),
                         ("currency=USD&format=xml", "format"), ("currency=USD&bogus=1", "bogus")):  # fmt: skip
        reply = api.get(f"/v1/reports/mrr?{query}", key)
        assert reply.status == 400 and reply.body["error"]["param"] == param, (query, reply.body)
    reply = api.get("/v1/reports/revenue?currency=USD&group_by=week", key)
    assert reply.status == 400 and reply.body["error"]["param"] == "group_by"


def _window_start(day: date) -> date:
    index = day.year * 12 + day.month - 3
    return date(index // 12, index % 12 + 1, 1)


def test_billing_reports_rebuild_recomputes_a_tenant(api: Api, stack: EmbeddedStack) -> None:
    from tests.integration.test_cli import billing

    tenant = json.loads(billing(stack, "tenant", "create", "--name", "Rebuilt Co", "--json").stdout)
    key = tenant["api_key"]
    ok(api.post("/v1/plans", key, {"code": "m", "name": "M", "currency": "USD", "interval": "month", "base_fee": 700}),
       201)  # fmt: skip
    ok(api.post("/v1/subscriptions", key, {"customer": customer(api, key, "One"), "plan": "m"}), 201)
    assert ok(api.get("/v1/reports/mrr?currency=USD", key))["mrr"] == 0  # no event aggregated yet
    done = billing(stack, "reports", "rebuild", "--tenant", tenant["tenant_id"])
    assert done.returncode == 0, done.stderr
    assert f"{tenant['tenant_id']} (test): 1 record(s) counted" in done.stdout
    assert ok(api.get("/v1/reports/mrr?currency=USD", key))["mrr"] == 700


def test_the_usage_report_sums_the_usage_billed_per_meter_and_month(api: Api, key: str, tenants: TenantService,
                                                                      stack: EmbeddedStack) -> None:  # fmt: skip
    """Two customers' water, 1.5 + 2.25 and 3 m3 in January, 0.5 in February, billed at each
    month's end: 6.75 m3 in January and 0.5 in February; EUR has none; the rebuild agrees."""
    assert stack.plumbing is not None
    ok(api.post("/v1/meters", key, {"code": "water", "name": "Water", "aggregation": "sum", "field": "m3"}), 201)
    plan = {"code": "metered", "name": "Metered", "currency": "USD", "interval": "month", "base_fee": 500,
            "charges": [{"meter": "water", "model": "per_unit", "unit_amount": "100"}]}  # fmt: skip
    ok(api.post("/v1/plans", key, plan), 201)
    clock = ok(api.post("/v1/test_clocks", key, {"frozen_time": "2026-01-01T00:00:00Z"}), 201)["id"]
    first, second = (customer(api, key, name, test_clock=clock) for name in ("A", "B"))
    for who in (first, second):
        ok(api.post("/v1/subscriptions", key, {"customer": who, "plan": "metered"}), 201)

    def send(who: str, m3: str, at: str) -> None:
        event = {"transaction_id": f"{who}-{at}-{m3}", "customer": who, "code": "water", "timestamp": at,
                 "properties": {"m3": m3}}  # fmt: skip
        ok(api.post("/v1/events", key, event), 202)

    ok(api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-01-20T00:00:00Z"}))
    send(first, "1.5", "2026-01-05T00:00:00Z")
    send(first, "2.25", "2026-01-06T00:00:00Z")
    send(second, "3", "2026-01-07T00:00:00Z")
    stack.plumbing.drain()
    ok(api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-02-20T00:00:00Z"}))
    send(first, "0.5", "2026-02-10T00:00:00Z")
    stack.plumbing.drain()
    ok(api.post(f"/v1/test_clocks/{clock}/advance", key, {"to": "2026-03-01T02:00:00Z"}))
    stack.plumbing.drain()

    path = "usage?currency=USD&from=2026-01&to=2026-03"
    usage = ok(api.get(f"/v1/reports/{path}", key))
    assert usage["data"] == [{"meter": "water", "month": "2026-01", "quantity": "6.75"},
                             {"meter": "water", "month": "2026-02", "quantity": "0.5"}]  # fmt: skip
    assert ok(api.get("/v1/reports/usage?currency=EUR&from=2026-01&to=2026-03", key))["data"] == []
    sheet = list(csv.reader(io.StringIO(api.get(f"/v1/reports/{path}&format=csv", key).raw.decode())))
    assert sheet == [["meter", "month", "quantity"], ["water", "2026-01", "6.75"], ["water", "2026-02", "0.5"]]
    services.reports_rebuild().run(tenants.authenticate(f"Bearer {key}"))
    assert ok(api.get(f"/v1/reports/{path}", key)) == usage
