"""Dunning worker: one SQS message = one shard of one tenant's and mode's open invoices, as of a
day (``billing.collections.dunning.ShardRun``, queued by the daily job). It applies the policy's
steps fallen due and accrues interest; the run is idempotent per invoice, step and day, so a
message delivered twice changes nothing the second time. A message that fails is retried alone
(partial batch failure), then kept in ``DunningDeadLetterQueue``; an invoice that kept changing
under the run is left for the next day's."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters import services
from billing.collections.dunning import ShardRun
from billing.settings import FunctionSettings, PublicBaseUrl, ResourceName


class DunningRunSettings(FunctionSettings):
    billing_table: ResourceName  # policies, invoices, their dunning records, items, customers
    documents_bucket: ResourceName  # the final notices' PDFs
    public_base_url: PublicBaseUrl | None = None  # the checkout link of a final notice


environment = DunningRunSettings.load()
logger = Logger(service="billing-dunning-runs")
processor = BatchProcessor(event_type=EventType.SQS)


def run(record: SQSRecord) -> None:
    message = ShardRun.of(json.loads(record.body))
    summary = services.dunning().run_shard(message)
    if summary.invoices:
        logger.info("dunning shard run", tenant_id=message.scope.tenant_id, shard=message.shard,
                    **summary.to_public(message.scope.livemode))  # fmt: skip


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=run, processor=processor, context=context)
