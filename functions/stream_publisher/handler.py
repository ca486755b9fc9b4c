"""Outbox publisher: table stream -> event bus.

Each event of an outbox record (an ``INSERT`` of an item with ``entity = event``; the event
source mapping filters the rest) becomes one entry on the bus (``EventBus``, from the
composition root) with ``detail-type`` = the event type, in the record's order. Records that
fail are reported as partial batch failures, so only they are retried. Consumers dedupe by the
event id, as a retried record may publish an event twice.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters import services
from billing.adapters.dynamodb.outbox import envelopes_of
from billing.settings import FunctionSettings, ResourceName


class StreamPublisherSettings(FunctionSettings):
    event_bus_name: ResourceName


environment = StreamPublisherSettings.load()
logger = Logger(service="billing-stream-publisher")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def publish(record: DynamoDBRecord) -> None:
    for envelope in envelopes_of(record.dynamodb.new_image) if record.dynamodb else []:
        services.event_bus().publish(envelope)
        logger.info("published", event_id=envelope["id"], event_type=envelope["type"])


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=publish, processor=processor, context=context)
