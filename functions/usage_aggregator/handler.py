"""Usage aggregator: usage table stream -> per-period totals, exactly once.

New events (``INSERT``) are added to the totals by ``UsageAggregator``, which commits chunk
by chunk with markers, so records a retry delivers again are skipped, and parks a record it
can never apply (metric ``UsageRecordsParked``; ``billing usage dead-letters`` lists them).
The handler never fails the whole batch: when something passing stops it (throttling, the
store unavailable, the function's time running out), it reports the first record not yet
settled, and Lambda retries from there.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters.dynamodb.usage_stream import records as stream_records
from billing.adapters.services import usage_aggregator
from billing.settings import FunctionSettings, ResourceName


class UsageAggregatorSettings(FunctionSettings):
    billing_table: ResourceName  # the totals
    usage_table: ResourceName  # the events, read when a parked record is replayed


environment = UsageAggregatorSettings.load()
logger = Logger(service="billing-usage-aggregator")
metrics = Metrics(namespace="Billing", service="billing-usage-aggregator")
RESERVE_MS = 20_000  # stop starting chunks this long before the function's timeout


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raw = event.get("Records", [])
    records = stream_records(raw)
    source = raw[0]["eventSourceARN"] if raw else ""
    progress = usage_aggregator().apply(source, records, lambda: context.get_remaining_time_in_millis() > RESERVE_MS)
    for parked in progress.parked:
        scope = parked.scope.key if parked.scope else None
        logger.error("usage record parked", parked_id=parked.id, sequence=parked.sequence, error=parked.error,
                     transaction_id=parked.transaction_id, scope=scope)  # fmt: skip
    metrics.add_metric(name="UsageRecordsParked", unit=MetricUnit.Count, value=len(progress.parked))
    if progress.settled < len(records):
        logger.warning("usage batch stopped; retried from its first unsettled record", settled=progress.settled,
                       events=len(records), error=repr(progress.error))  # fmt: skip
        return {"batchItemFailures": [{"itemIdentifier": records[progress.settled].sequence}]}
    logger.info("usage batch applied", records=len(raw), events=len(records))
    return {"batchItemFailures": []}
