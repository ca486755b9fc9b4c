"""Outbound webhook delivery: one SQS message = one delivery (an event for an endpoint), made
by the fan-out. One attempt per receive (``billing.webhooks_out.delivery``): signed, POSTed to
the endpoint through the SSRF-safe transport, recorded in its delivery log. A failed attempt
sets the message's visibility to the next backoff (``billing.webhooks_out.retries``) and is
reported failed, so SQS brings it back then and counts the attempts (its receive count); after
the last, the redrive policy moves it to ``WebhookDeliveryDeadLetterQueue``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters import services, webhook_queue
from billing.settings import FunctionSettings, QueueUrl, ResourceName


class WebhookDeliverySettings(FunctionSettings):
    billing_table: ResourceName  # endpoints and deliveries
    webhook_secrets_key: ResourceName  # the KMS key that opens the endpoints' signing secrets
    webhook_delivery_queue_url: QueueUrl  # to postpone a failed delivery's message


class DeliveryFailed(Exception):
    """The attempt failed: the message stays on the queue, for the next attempt or the DLQ."""


environment = WebhookDeliverySettings.load()
logger = Logger(service="billing-webhook-delivery")
metrics = Metrics(namespace="Billing", service="billing-webhook-delivery")
processor = BatchProcessor(event_type=EventType.SQS)


def deliver(record: SQSRecord) -> None:
    ref = webhook_queue.parse(record.body)
    attempt = int(record.attributes.approximate_receive_count or 1)
    outcome = services.webhook_deliveries().deliver(ref, attempt)
    metrics.add_metric(name=f"WebhookDeliveries_{outcome.status or 'skipped'}", unit=MetricUnit.Count, value=1)
    logger.info("webhook delivery", delivery=ref.delivery_id, endpoint=ref.endpoint_id, tenant_id=ref.tenant_id,
                attempt=attempt, status=outcome.status)  # fmt: skip
    if outcome.status in ("retrying", "failed"):
        delay = outcome.retry_after or timedelta(0)  # failed: received again at once, so moved to the DLQ
        services.webhook_delivery_queue().postpone(record.receipt_handle, delay)
        raise DeliveryFailed(f"{ref.delivery_id}: attempt {attempt} {outcome.status}")


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=deliver, processor=processor, context=context)
