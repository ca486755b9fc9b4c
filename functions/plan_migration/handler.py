"""Plan migration worker: one SQS message = one page of a plan's subscriptions.

The first message is the ``PlanMigrationRequested`` event routed from the bus;
after each page the worker enqueues the next one (with its cursor), so a
migration over millions of subscriptions is many short invocations. A page
that fails is retried alone (partial batch failure); re-running a page is
harmless, as scheduling a subscription twice changes nothing. Its services come from the one
composition root (``billing.adapters.services``), test clocks included.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters import queues, services
from billing.scope import Scope
from billing.settings import get_settings

logger = Logger(service="billing-plan-migration")
processor = BatchProcessor(event_type=EventType.SQS)


def migrate(record: SQSRecord) -> None:
    detail = json.loads(record.body)["detail"]
    scope = Scope(detail["tenant_id"], livemode=bool(detail["livemode"]))
    migration = detail["data"]
    result = services.migrations().migrate_page(
        scope, migration["plan"], migration["effective_date"], detail.get("cursor")
    )
    logger.info("page migrated", migration=migration["id"], scheduled=result.scheduled, more=bool(result.next_cursor))
    if result.next_cursor:
        next_page = {"detail-type": "PlanMigrationPage", "detail": {**detail, "cursor": result.next_cursor}}
        queue_url = get_settings().plan_migration_queue_url
        assert queue_url, "PLAN_MIGRATION_QUEUE_URL is set by template.yaml"
        queues.send(queue_url, next_page)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=migrate, processor=processor, context=context)
