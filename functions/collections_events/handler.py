"""Customer access: one SQS message = one domain event that can settle a debt or a prepaid
balance (``InvoicePaid``, ``InvoiceVoided``, ``CreditNoteIssued``, ``CustomerCreditChanged``)
or exhaust one (``CustomerBalanceExhausted``; ``CollectionsEventsRule``). The customer it
concerns is reinstated when what it was suspended for is over, or suspended when its prepaid
balance ran out (``billing.collections.access``); an event delivered twice changes nothing the
second time.
A message that fails is retried alone (partial batch failure), then kept in
``CollectionsEventDeadLetterQueue``."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters import services
from billing.scope import Scope
from billing.settings import FunctionSettings, ResourceName


class CollectionsEventsSettings(FunctionSettings):
    billing_table: ResourceName  # customers and their open invoices


environment = CollectionsEventsSettings.load()
logger = Logger(service="billing-collections-events")
processor = BatchProcessor(event_type=EventType.SQS)


def review(record: SQSRecord) -> None:
    envelope = json.loads(record.body)["detail"]  # as EventBridge puts an event on a queue
    scope = Scope(envelope["tenant_id"], livemode=bool(envelope["livemode"]))
    data = envelope["data"]
    customer = data["customer"] if "customer" in data else data["object"]["customer"]
    access = services.customer_access()
    if envelope["type"] == "CustomerBalanceExhausted":
        changed = access.exhausted(scope, customer)
    else:
        changed = access.review(scope, customer)
    if changed is not None:
        logger.info("customer access changed", tenant_id=scope.tenant_id, customer=customer, event=envelope["id"],
                    allowed=changed.allowed)  # fmt: skip


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=review, processor=processor, context=context)
