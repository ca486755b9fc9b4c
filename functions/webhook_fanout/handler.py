"""Outbound webhook fan-out: one SQS message = one domain event the bus routed to
``WebhookEventQueue`` (``WebhookFanoutRule``: every event of ``billing.platform``); each endpoint
of its tenant and mode that wants it gets a delivery, stored and queued as a message of its own
on ``WebhookDeliveryQueue`` (``billing.webhooks_out.fanout``). An event delivered twice makes no
second delivery. A message that fails is retried alone (partial batch failure), then kept in
``WebhookEventDeadLetterQueue``."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters import services
from billing.settings import FunctionSettings, QueueUrl, ResourceName


class WebhookFanoutSettings(FunctionSettings):
    billing_table: ResourceName  # the endpoints, and the deliveries it stores
    webhook_delivery_queue_url: QueueUrl  # one message per delivery


environment = WebhookFanoutSettings.load()
logger = Logger(service="billing-webhook-fanout")
metrics = Metrics(namespace="Billing", service="billing-webhook-fanout")
processor = BatchProcessor(event_type=EventType.SQS)


def fan_out(record: SQSRecord) -> None:
    envelope = json.loads(record.body)["detail"]  # as EventBridge puts an event on a queue
    queued = services.webhook_fanout().fan_out(envelope)
    metrics.add_metric(name="WebhookDeliveriesQueued", unit=MetricUnit.Count, value=len(queued))
    if queued:
        logger.info("deliveries queued", event=envelope["id"], event_type=envelope["type"],
                    tenant_id=envelope["tenant_id"], deliveries=[d.id for d in queued])  # fmt: skip


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=fan_out, processor=processor, context=context)
