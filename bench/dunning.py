"""A daily dunning run over ``INVOICES`` overdue invoices against the embedded endpoint.

One embedded stack (``bench/_emulator.py``). A tenant whose policy has a reminder the day after
the due date and penalty interest from the first day; ``INVOICES`` open invoices fell due three
days ago, written straight to the table (setup is not measured). Then one run as of today, as
the daily job makes it: each invoice takes its reminder (one write with its dunning record and
event) and the interest to date (a second write: a new pending item). A second run the same day
is measured too: it reads, and writes nothing.

Figures:
- ``requests_per_invoice``: DynamoDB requests of the first run per invoice (the index pages, the
  invoices and records read, the writes).
- ``write_units_per_invoice``: their write units per invoice.
- ``invoices_per_s``: invoices dunned per second of the first run.
- ``rerun_requests_per_invoice``: the second run's requests per invoice (reads only).
- ``invoices``: invoices the first run looked at, as a check.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bench._capacity import WriteUnits
from bench._emulator import provisioned

if TYPE_CHECKING:
    from billing.scope import Scope

INVOICES = int(os.environ.get("BENCH_DUNNING_INVOICES", 2000))
POLICY = {
    "steps": [{"days_after_due": 1, "action": "reminder"}],
    "penalty_interest": {"annual_rate": "16", "schedule": [{"from_day": 1, "fraction": "1/300"}]},
}


def _populate(scope: Scope, count: int) -> None:
    """``count`` open invoices of 100.00 RUB, due three days ago."""
    from billing.adapters.dynamodb import invoices, table
    from billing.ids import new_id
    from billing.invoicing.model import Invoice

    issued = datetime.now(UTC) - timedelta(days=17)
    due = (issued + timedelta(days=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    at = issued.strftime("%Y-%m-%dT%H:%M:%SZ")
    items = []
    for n in range(count):
        invoice = Invoice(
            id=new_id("inv"), livemode=False, customer=new_id("cus"), billing_reason="manual", currency="RUB",
            period_start=at, period_end=at, created_at=at, issued_at=at, status="open", due_date=due,
            number=f"BENCH-{n:06d}", total=10_000, amount_due=10_000,
        )  # fmt: skip
        items.append(invoices.to_item(scope, invoice))
    table.batch_put(table.table_name(), items)


def run() -> dict[str, float | int | str]:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    with provisioned("dunbench"):
        return _run()


def _run() -> dict[str, float | int | str]:
    from billing.adapters import services
    from billing.adapters.dynamodb import table
    from billing.collections.policy import DunningPolicyUpdate
    from billing.scope import Scope

    tenant, _ = services.tenants().create_tenant("Dunning Bench")
    scope = Scope(tenant.id, livemode=False)
    services.dunning_policies().replace(scope, DunningPolicyUpdate.model_validate(POLICY))
    units = WriteUnits()
    units.attach(table.client())
    _populate(scope, INVOICES)
    units.reset()
    today = datetime.now(UTC).date()
    started = time.perf_counter()
    summary = services.dunning().run(scope, today)
    elapsed = time.perf_counter() - started
    requests, written = units.requests, units.units
    units.reset()
    again = services.dunning().run(scope, today)
    assert not again.steps and not again.interest_charged, again
    return {
        "requests_per_invoice": round(requests / max(summary.invoices, 1), 2),
        "write_units_per_invoice": round(written / max(summary.invoices, 1), 1),
        "invoices_per_s": round(summary.invoices / elapsed, 1),
        "rerun_requests_per_invoice": round(units.requests / max(again.invoices, 1), 2),
        "invoices": summary.invoices,
    }
