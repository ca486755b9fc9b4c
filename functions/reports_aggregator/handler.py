"""Report aggregates: one SQS message = one domain event that changes what the reports count
(``ReportsAggregatorRule``: subscriptions, invoices, payments, credit notes, customers' region
and tags). The record it names is read as stored and its contribution to the aggregates
brought up to date, once per event id (``billing.reports.aggregator``).
A message that fails is retried alone (partial batch failure), then kept in
``ReportsEventDeadLetterQueue``; ``billing reports rebuild`` recomputes a tenant's figures."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters import services
from billing.settings import FunctionSettings, ResourceName


class ReportsAggregatorSettings(FunctionSettings):
    billing_table: ResourceName  # the source records and the aggregates


environment = ReportsAggregatorSettings.load()
logger = Logger(service="billing-reports-aggregator")
processor = BatchProcessor(event_type=EventType.SQS)


def aggregate(record: SQSRecord) -> None:
    envelope = json.loads(record.body)["detail"]  # as EventBridge puts an event on a queue
    if not services.reports_aggregator().handle(envelope):
        logger.debug("nothing new", event=envelope["id"], type=envelope["type"])


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=aggregate, processor=processor, context=context)
