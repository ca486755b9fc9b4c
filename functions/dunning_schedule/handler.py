"""The daily dunning run (EventBridge Scheduler): every tenant and mode, as of today (UTC).

Each run applies the steps fallen due and accrues penalty interest on the open invoices
(``billing.collections.dunning``); a second run on the same day changes nothing, and a missed
day is caught up by the next run. Customers of test clocks are left to their clocks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters.services import dunning, tenants
from billing.scope import Scope
from billing.settings import FunctionSettings, PublicBaseUrl, ResourceName


class DunningScheduleSettings(FunctionSettings):
    billing_table: ResourceName  # policies, invoices, their dunning records, items, customers
    documents_bucket: ResourceName  # the final notices' PDFs
    public_base_url: PublicBaseUrl | None = None  # the checkout link of a final notice


environment = DunningScheduleSettings.load()
logger = Logger(service="billing-dunning-schedule")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    runs = []
    for tenant_id in tenants().tenant_ids():
        for livemode in (False, True):
            summary = dunning().run(Scope(tenant_id, livemode), today)
            if summary.invoices:
                runs.append({"tenant_id": tenant_id, **summary.to_public(livemode)})
    logger.info("dunning runs done", as_of=today.isoformat(), runs=runs)
    return {"as_of": today.isoformat(), "runs": runs}
