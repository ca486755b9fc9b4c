"""Provider event processor: one SQS message = one verified provider webhook, stored by the
intake (``billing.payments.webhooks``), handed to the platform's ``ProviderEventHandler``
(``billing.payments.provider_events``) unless it was processed already. Nothing is verified
again: only verified events are stored. The queue is FIFO, grouped by what an event is about,
so a message that fails holds back only the later events of its own checkout (partial batch
failure, ``skip_group_on_error``); after five failed receives it goes to the dead-letter queue,
and the stored event stays ``received`` for a redelivery to queue it again."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters import provider_event_queue, services
from billing.settings import FunctionSettings, ResourceName


class ProviderEventSettings(FunctionSettings):
    billing_table: ResourceName  # the stored events, and what handling them changes
    provider_credentials_key: ResourceName  # the KMS key that opens the tenants' provider credentials


environment = ProviderEventSettings.load()
logger = Logger(service="billing-provider-events")
metrics = Metrics(namespace="Billing", service="billing-provider-events")
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


def work(record: SQSRecord) -> None:
    ref = provider_event_queue.parse(record.body)
    handled = services.provider_events().process(ref)
    metrics.add_metric(name="ProviderEventsHandled" if handled else "ProviderEventsSkipped", unit=MetricUnit.Count,
                       value=1)  # fmt: skip
    logger.info("provider event", provider=ref.provider, tenant_id=ref.scope.tenant_id, event=ref.event_id,
                handled=handled)  # fmt: skip


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=work, processor=processor, context=context)
