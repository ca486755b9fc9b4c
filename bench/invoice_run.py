"""An invoice run over ``SUBSCRIPTIONS`` subscriptions against the embedded endpoint.

One embedded stack (moto in a process of its own, ``bench/_emulator.py``; every resource of template.yaml). A tenant
with a plan (base fee plus a graduated usage charge), a tax rate by address and a grace period
of 0 (drafts finalize in the same run); ``SUBSCRIPTIONS`` customers subscribed a day ago, their
first fee due, written straight to the table (setup is not measured). Then one invoice run,
as the hourly schedule starts it: its scan and bill messages go through the real SQS queue and
are handled by the invoice run function (the local poller, as Lambda would), until the run is
completed.

Figures:
- ``invoices_per_s``: invoices created (and finalized, numbered, posted) per second of run.
- ``requests_per_invoice``: DynamoDB requests the run made per invoice (reads and writes, all
  functions of this process).
- ``write_units_per_invoice``: DynamoDB write units of those requests per invoice.
- ``requests_per_invoice_with_consumers``, ``write_units_per_invoice_with_consumers``: the same
  once every consumer of the run's events is done too (notifications, webhook fan-out, the
  reports aggregator): the run's whole cost. The two figures above stop when the run is
  completed, with the consumers wherever they got to by then.
- ``invoices``, ``finalized``: counts of the run, as a check.
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
    from infra.local.stack import EmbeddedStack

SUBSCRIPTIONS = int(os.environ.get("BENCH_RUN_SUBSCRIPTIONS", 10_000))


def _populate(scope: Scope, count: int) -> None:
    """``count`` customers and subscriptions like the one made through the services."""
    from billing.adapters import services
    from billing.adapters.dynamodb import customers, subscriptions, table
    from billing.customers import CustomerCreate
    from billing.ids import new_id
    from billing.subscriptions.model import HistoryEntry, SubscriptionCreate

    start = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    address = {"country": "US", "region": "CA"}
    model = services.customers().create(scope, CustomerCreate.model_validate({"name": "Bench 0", "address": address}))
    subscribe = {"customer": model.id, "plan": "metered", "start_date": start}
    sub = services.subscriptions().create(scope, SubscriptionCreate.model_validate(subscribe))
    items = []
    for n in range(1, count):
        customer = model.__class__(**{**vars(model), "id": new_id("cus"), "name": f"Bench {n}"})
        clone = sub.model_copy(update={"id": new_id("sub"), "customer": customer.id})
        entry = HistoryEntry(at=start, type="created", status=clone.status, plan=clone.plan)
        items += [customers.to_item(scope, customer), subscriptions.to_item(scope, clone)]
        items.append(table.decode(subscriptions.history_put(scope, clone, entry)["Put"]["Item"]))
    table.batch_put(table.table_name(), items)


def run() -> dict[str, float | int | str]:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    with provisioned("runbench") as stack:
        return _run(stack)


def _run(stack: EmbeddedStack) -> dict[str, float | int | str]:
    from billing.adapters import services
    from billing.adapters.dynamodb import table
    from billing.catalog.service import create_request
    from billing.invoicing.runs import RunRequest
    from billing.scope import Scope
    from billing.tenant_settings import SettingsUpdate

    tenant, _ = services.tenants().create_tenant("Run Bench")
    scope = Scope(tenant.id, livemode=False)
    services.update_settings(scope, SettingsUpdate(grace_period=0))
    services.catalog().create(
        scope, "meter", create_request("meter", {"code": "calls", "name": "Calls", "aggregation": "count"})
    )
    tiers = [{"up_to": 1000, "unit_amount": "0"}, {"up_to": None, "unit_amount": "0.2"}]
    plan = {"code": "metered", "name": "Metered", "currency": "USD", "interval": "month", "base_fee": 2900,
            "charges": [{"meter": "calls", "model": "graduated", "tiers": tiers}]}  # fmt: skip
    services.catalog().create(scope, "plan", create_request("plan", plan))
    tax_rate = {"name": "CA", "percent": "7.25", "country": "US", "region": "CA"}
    services.catalog().create(scope, "tax_rate", create_request("tax_rate", tax_rate))
    units = WriteUnits()
    units.attach(table.client())  # before the setup, so that it knows what the run overwrites
    _populate(scope, SUBSCRIPTIONS)
    units.reset()
    assert stack.plumbing is not None
    started = time.perf_counter()
    invoice_run = services.invoice_runs().start(scope, RunRequest(), trigger="api")
    while services.invoice_runs().get(scope, invoice_run.id).status != "completed":
        stack.plumbing.drain()
    elapsed = time.perf_counter() - started
    done = services.invoice_runs().get(scope, invoice_run.id)
    created = done.counts["invoices_created"]
    requests, written = units.requests, units.units
    stack.plumbing.drain()  # what the run's events still ask of their consumers (notices, webhooks, reports)
    return {
        "invoices_per_s": round(created / elapsed, 1),
        "requests_per_invoice": round(requests / max(created, 1), 1),
        "write_units_per_invoice": round(written / max(created, 1), 1),
        "requests_per_invoice_with_consumers": round(units.requests / max(created, 1), 1),
        "write_units_per_invoice_with_consumers": round(units.units / max(created, 1), 1),
        "invoices": created,
        "finalized": done.counts["invoices_finalized"],
    }
