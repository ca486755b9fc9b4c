"""The daily dunning job (EventBridge Scheduler): one message per shard of every tenant's and
mode's open invoices with a dunning policy, as of today (UTC), on ``DunningQueue``; the dunning
worker (``functions/dunning_runs``) runs each. This function only starts them, so no tenant's
run waits for another's, and a failed shard is retried alone."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters.services import dunning, dunning_queue, tenants
from billing.scope import Scope
from billing.settings import FunctionSettings, QueueUrl, ResourceName


class DunningScheduleSettings(FunctionSettings):
    billing_table: ResourceName  # the tenants and their dunning policies
    dunning_queue_url: QueueUrl  # one message per tenant, mode and shard


environment = DunningScheduleSettings.load()
logger = Logger(service="billing-dunning-schedule")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    scopes = [Scope(tenant_id, livemode) for tenant_id in tenants().tenant_ids() for livemode in (False, True)]
    queued = dunning().schedule(scopes, dunning_queue())
    logger.info("dunning runs queued", messages=queued)
    return {"messages": queued}
