"""Plan migration worker: one SQS message = one page of a plan's subscriptions.

The first message is the ``PlanMigrationRequested`` event routed from the bus; after each
page the service queues the next one (with its cursor), so a migration over millions of
subscriptions is many short invocations. A page that fails is retried alone (partial batch
failure); re-running a page is harmless, as scheduling a subscription twice changes nothing.
Its services come from the one composition root (``billing.adapters.services``), test clocks
included.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters import migration_pages, services
from billing.settings import FunctionSettings, QueueUrl, ResourceName


class PlanMigrationSettings(FunctionSettings):
    billing_table: ResourceName
    plan_migration_queue_url: QueueUrl  # where the next page goes


environment = PlanMigrationSettings.load()
logger = Logger(service="billing-plan-migration")
processor = BatchProcessor(event_type=EventType.SQS)


def migrate(record: SQSRecord) -> None:
    page = migration_pages.parse(record.body)
    result = services.migrations().migrate(page)
    logger.info("page migrated", migration=page.migration_id, scheduled=result.scheduled, more=bool(result.next_cursor))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=migrate, processor=processor, context=context)
