"""Customer notifications: one SQS message = one domain event the bus routed to
``NotificationQueue`` (``NotificationRule``: the events customers are told about,
``billing.notifications.kinds``). Each is mailed (SES) and texted (SNS) as the customer chose,
once per event and channel however often it arrives (``billing.notifications.service``).

A message whose tenant spent its allowance comes back when the allowance does (its visibility
set to the next minute); one that failed otherwise comes back after the queue's visibility
timeout. Both are reported failed (partial batch failure), and after ``maxReceiveCount``
receives the message is kept in ``NotificationDeadLetterQueue``."""

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
from billing.notifications.model import RateLimited
from billing.settings import EmailAddress, FunctionSettings, PublicBaseUrl, QueueUrl, ResourceName


class NotificationSettings(FunctionSettings):
    billing_table: ResourceName  # customers, settings, the delivery log, the per-tenant allowance
    documents_bucket: ResourceName  # invoice PDFs and debtor notices, attached
    notification_queue_url: QueueUrl  # to postpone an event the tenant's allowance holds back
    notification_sender: EmailAddress  # the platform's verified SES sender
    public_base_url: PublicBaseUrl | None = None  # the "Pay online" links (mail and PDFs)


environment = NotificationSettings.load()
logger = Logger(service="billing-notifications")
metrics = Metrics(namespace="Billing", service="billing-notifications")
processor = BatchProcessor(event_type=EventType.SQS)


def notify(record: SQSRecord) -> None:
    envelope = json.loads(record.body)["detail"]  # as EventBridge puts an event on a queue
    try:
        sent = services.notifier().notify(envelope)
    except RateLimited as limited:
        services.notification_queue().postpone(record.receipt_handle, limited.retry_after)
        metrics.add_metric(name="NotificationsRateLimited", unit=MetricUnit.Count, value=1)
        raise
    for notification in sent:
        metrics.add_metric(name=f"Notifications_{notification.status}", unit=MetricUnit.Count, value=1)
    if sent:
        logger.info("notified", event=envelope["id"], event_type=envelope["type"], tenant_id=envelope["tenant_id"],
                    notifications=[(n.id, n.channel, n.status, n.reason) for n in sent])  # fmt: skip


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=notify, processor=processor, context=context)
