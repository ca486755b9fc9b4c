"""The hourly invoice run (EventBridge Scheduler): one run per tenant and mode, as of now.

Each run fans out through the invoice run queue; this function only starts them."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters.services import invoice_runs, tenants
from billing.invoicing.runs import RunRequest
from billing.scope import Scope
from billing.settings import FunctionSettings, QueueUrl, ResourceName


class InvoiceScheduleSettings(FunctionSettings):
    billing_table: ResourceName
    invoice_run_queue_url: QueueUrl  # each run starts with its scan messages


environment = InvoiceScheduleSettings.load()
logger = Logger(service="billing-invoice-schedule")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = []
    for tenant_id in tenants().tenant_ids():
        for livemode in (False, True):
            run = invoice_runs().start(Scope(tenant_id, livemode), RunRequest(), trigger="schedule")
            started.append(run.id)
    logger.info("scheduled invoice runs started", runs=len(started))
    return {"runs": started}
