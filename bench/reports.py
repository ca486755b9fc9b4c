"""Reports of a tenant with ``CUSTOMERS`` customers: read from the aggregates against computed
by scanning its records, on one embedded stack (``bench/_emulator.py``).

Setup (not measured): ``CUSTOMERS`` customers, each with a monthly subscription (its history
entry) and an open invoice, a payment for every fifth, written straight to the table; then
``billing reports rebuild`` makes the aggregates (timed apart: ``rebuild_s``). Then:

- ``read_ms``: the five reports (mrr, revenue, plans, aging, debtors) read from the aggregates,
  as the API reads them (``services.reports()``);
- ``scan_ms``: the same five computed from the source records: every subscription (its
  history), invoice and payment read through the list indexes, contributions computed and
  summed in memory (``reports.memory``), no aggregate read;
- ``ratio_to_scan``: ``read_ms`` / ``scan_ms`` (the same run; lower is better);
- ``requests_per_event`` and ``write_units_per_event``: what the aggregator costs per domain
  event, over ``EVENTS`` new subscriptions and finalized invoices handled one by one
  (the record read, its customer, its last contribution, one transaction).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bench._capacity import WriteUnits
from bench._emulator import provisioned

if TYPE_CHECKING:
    from billing.scope import Scope

CUSTOMERS = int(os.environ.get("BENCH_REPORTS_CUSTOMERS", 10_000))
EVENTS = int(os.environ.get("BENCH_REPORTS_EVENTS", 200))


def run() -> dict[str, float | int | str]:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    with provisioned("rptbench"):
        return _run()


def _records(scope: Scope, n: int, plan_id: str, at: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One customer's items, and the envelopes of its subscription's and invoice's events."""
    from billing.adapters.dynamodb import customers, invoices, payments, subscriptions
    from billing.customers.model import Customer
    from billing.ids import new_id
    from billing.invoicing.model import Invoice
    from billing.payments.model import Payment
    from billing.subscriptions.model import HistoryEntry, Subscription

    wire = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    due = (at + timedelta(days=14 - n % 60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    customer = Customer(id=new_id("cus"), livemode=False, created_at=at, name=f"Customer {n}", currency="USD",
                        address={"region": f"r{n % 5}"}, tags=(f"t{n % 3}",))  # fmt: skip
    sub = Subscription(id=new_id("sub"), livemode=False, customer=customer.id, plan=plan_id, plan_code="basic",
                       currency="USD", status="active", start_date=wire, billing_anchor=wire, trial_end=None,
                       current_period_start=wire, current_period_end=wire, created_at=wire)  # fmt: skip
    invoice = Invoice(id=new_id("inv"), livemode=False, customer=customer.id, billing_reason="manual",
                      currency="USD", period_start=wire, period_end=wire, created_at=wire, issued_at=wire,
                      status="open", due_date=due, number=f"B-{n:06d}", total=1000 + n % 700,
                      amount_due=1000 + n % 700)  # fmt: skip
    items = [customers.to_item(scope, customer), subscriptions.to_item(scope, sub), invoices.to_item(scope, invoice),
             subscriptions.history_item(scope, sub, HistoryEntry(at=wire, type="created", status="active",
                                                                 plan=plan_id))]  # fmt: skip
    if n % 5 == 0:
        paid = Payment(id=new_id("pay"), livemode=False, customer=customer.id, provider="offline",
                       channel="bank_transfer", amount=500, amount_received=500, currency="USD", status="succeeded",
                       created_at=wire, paid_at=wire)  # fmt: skip
        items.append(payments.to_item(scope, paid))
    envelopes = [
        {"id": new_id("evt"), "type": kind, "tenant_id": scope.tenant_id, "livemode": False, "occurred_at": wire,
         "data": {"object": {"object": obj, "id": ident}}}
        for kind, obj, ident in (("SubscriptionCreated", "subscription", sub.id),
                                 ("InvoiceFinalized", "invoice", invoice.id))
    ]  # fmt: skip
    return items, envelopes


def _run() -> dict[str, float | int | str]:
    from billing.adapters import services
    from billing.adapters.dynamodb import table
    from billing.adapters.dynamodb.report_sources import DynamoReportSources
    from billing.catalog.plans import PlanCreate
    from billing.reports.memory import MemoryReader
    from billing.reports.query import ReportQuery
    from billing.reports.service import Reports
    from billing.scope import Scope

    tenant, _ = services.tenants().create_tenant("Reports Bench")
    scope = Scope(tenant.id, livemode=False)
    body = {"code": "basic", "name": "Basic", "currency": "USD", "interval": "month", "base_fee": 2900}
    plan = services.catalog().create(scope, "plan", PlanCreate.model_validate(body))
    now = datetime.now(UTC) - timedelta(days=20)
    items: list[dict[str, Any]] = []
    for n in range(CUSTOMERS):
        items += _records(scope, n, plan.id, now)[0]
    table.batch_put(table.table_name(), items)
    started = time.perf_counter()
    services.reports_rebuild().run(scope)
    rebuild_s = time.perf_counter() - started

    query = ReportQuery(currency="USD", as_of=date.today())

    def five(reports: Reports) -> list[Any]:
        return [reports.mrr(scope, query), reports.revenue(scope, query), reports.plans(scope, query),
                reports.aging(scope, query), reports.debtors(scope, query)]  # fmt: skip

    started = time.perf_counter()
    read = five(services.reports())
    read_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    sources = DynamoReportSources()
    records = services.report_records()
    everyone = sources.customers_of(scope)
    counted = [records.counted(scope, record, everyone.get(record.customer)) for record in sources.records(scope)]
    scanned = five(Reports(MemoryReader(counted), sources.customers))
    scan_ms = (time.perf_counter() - started) * 1000
    for one, other in zip(read, scanned, strict=True):
        assert one.to_public() == other.to_public(), f"the aggregates disagree with the scan: {one} != {other}"
    print(
        f"[bench] reports: rebuilt in {rebuild_s:.0f} s, read {read_ms:.0f} ms, scanned {scan_ms:.0f} ms",
        file=sys.stderr,
        flush=True,
    )

    units = WriteUnits()
    units.attach(table.client())
    fresh: list[dict[str, Any]] = []
    envelopes: list[dict[str, Any]] = []
    for n in range(EVENTS // 2):
        made, sent = _records(scope, CUSTOMERS + n, plan.id, now)
        fresh += made
        envelopes += sent
    table.batch_put(table.table_name(), fresh)
    units.reset()
    aggregator = services.reports_aggregator()
    for envelope in envelopes:
        aggregator.handle(envelope)
    events = max(len(envelopes), 1)
    return {
        "read_ms": round(read_ms, 1),
        "scan_ms": round(scan_ms, 1),
        "ratio_to_scan": round(read_ms / scan_ms, 4),
        "rebuild_s": round(rebuild_s, 1),
        "requests_per_event": round(units.requests / events, 2),
        "write_units_per_event": round(units.units / events, 1),
        "customers": CUSTOMERS,
    }
