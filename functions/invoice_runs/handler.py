"""Invoice run worker: one SQS message = one scan page of the due index or one batch of
subscriptions to bill (``billing.invoicing.runs``). A message that fails is retried alone
(partial batch failure); doing one twice bills nothing twice."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters.services import invoice_runs
from billing.settings import FunctionSettings, QueueUrl, ResourceName


class InvoiceRunSettings(FunctionSettings):
    billing_table: ResourceName
    usage_table: ResourceName  # usage totals, rated into invoices
    invoice_run_queue_url: QueueUrl  # a scan queues the pages it found


environment = InvoiceRunSettings.load()
logger = Logger(service="billing-invoice-runs")
metrics = Metrics(namespace="Billing", service="billing-invoice-runs")
processor = BatchProcessor(event_type=EventType.SQS)


def work(record: SQSRecord) -> None:
    body = json.loads(record.body)
    invoice_runs().handle(body)
    metrics.add_metric(name=f"InvoiceRun{body['kind'].title()}Messages", unit=MetricUnit.Count, value=1)
    logger.info("run message handled", run=body["run"], kind=body["kind"], message_id=body["id"])


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=work, processor=processor, context=context)
