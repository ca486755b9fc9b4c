"""Invoice charge worker: one SQS message = one ``InvoiceFinalized`` event routed from the bus, an
``InvoicePaymentRetried`` (a dunning step: the card is tried again, once per step), or a
``CustomerBalanceLow`` (a prepaid customer's automatic top-up, ``OffSessionCharges.top_up``);
the customer's saved card is charged off-session for what the invoice asks
(``billing.payments.off_session``: once per invoice however often the event comes, nothing
when there is no card or nothing due). A message that fails (the provider unreachable) is
retried alone (partial batch failure), then kept in ``InvoiceChargeDeadLetterQueue``. Its
services come from the one composition root (``billing.adapters.services``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters import finalized_invoices, services
from billing.settings import FunctionSettings, ResourceName


class InvoiceChargeSettings(FunctionSettings):
    billing_table: ResourceName  # invoices, customers, payments, provider accounts, tenant settings
    provider_credentials_key: ResourceName  # the KMS key that opens the tenants' provider credentials


environment = InvoiceChargeSettings.load()
logger = Logger(service="billing-invoice-charges")
metrics = Metrics(namespace="Billing", service="billing-invoice-charges")
processor = BatchProcessor(event_type=EventType.SQS)


def charge(record: SQSRecord) -> None:
    if finalized_invoices.kind(record.body) == finalized_invoices.BALANCE_LOW:
        top_up(record)
        return
    finalized = finalized_invoices.parse(record.body)
    payment = services.off_session_charges().charge(finalized.scope, finalized.invoice_id, finalized.attempt)
    status = payment.status if payment else "none"
    metrics.add_metric(name=f"OffSessionCharges_{status}", unit=MetricUnit.Count, value=1)
    logger.info("invoice charged" if payment else "nothing to charge", invoice=finalized.invoice_id,
                tenant_id=finalized.scope.tenant_id, event=finalized.event_id,
                payment=payment.id if payment else None, status=status)  # fmt: skip


def top_up(record: SQSRecord) -> None:
    low = finalized_invoices.parse_balance_low(record.body)
    payment = services.off_session_charges().top_up(low.scope, low)
    status = payment.status if payment else "none"
    metrics.add_metric(name=f"AutoTopUps_{status}", unit=MetricUnit.Count, value=1)
    logger.info("balance topped up" if payment else "no automatic top-up", customer=low.customer,
                tenant_id=low.scope.tenant_id, event=low.event_id, payment=payment.id if payment else None,
                status=status)  # fmt: skip


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=charge, processor=processor, context=context)
