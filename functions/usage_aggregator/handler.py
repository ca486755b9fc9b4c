"""Usage aggregator: usage table stream -> per-period totals, exactly once.

New events (``INSERT``) are added to the totals by ``UsageAggregator``, which
commits chunk by chunk with markers, so a retried batch skips what it already
applied. A batch that fails is reported whole (its first record): Lambda
retries it from its start, which is what the markers expect; partial reports
would move the start and are not used. An overwrite of an event by a racing
duplicate (``MODIFY``) puts the first write back.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from billing.adapters.dynamodb import table
from billing.adapters.dynamodb.usage_aggregates import DynamoAggregateStore
from billing.adapters.dynamodb.usage_events import DynamoUsageEventStore, from_item
from billing.usage.aggregator import Record, UsageAggregator

logger = Logger(service="billing-usage-aggregator")
aggregator = UsageAggregator(DynamoAggregateStore())
events = DynamoUsageEventStore()


def _inserted(records: list[dict[str, Any]]) -> list[Record]:
    found = []
    for record in records:
        change = record["dynamodb"]
        if record["eventName"] == "INSERT":
            found.append(Record(change["SequenceNumber"], *from_item(table.decode(change["NewImage"]))))
        elif record["eventName"] == "MODIFY":
            events.keep_first(table.decode(change["OldImage"]), table.decode(change["NewImage"]))
    return found


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records", [])
    if not records:
        return {"batchItemFailures": []}
    try:
        inserted = _inserted(records)
        aggregator.apply(records[0]["eventSourceARN"], inserted)
    except Exception:
        logger.exception("usage batch failed; it will be retried from its first record", records=len(records))
        return {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
    logger.info("usage batch applied", records=len(records), events=len(inserted))
    return {"batchItemFailures": []}
