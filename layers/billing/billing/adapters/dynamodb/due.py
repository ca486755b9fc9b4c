"""The due index (GSI4): what time-driven work is waiting, and from when.

Subscriptions are indexed at the moment their next billing step is due, draft invoices at
the moment they finalize. ``GSI4PK`` is ``{scope}#DUE#{shard}`` (the id's hash mod
``SHARDS``, so a tenant renewing millions of subscriptions at once spreads its writes), or
``{scope}#DUE#CLOCK#{clock}`` for the customers of a test clock, which only advancing that
clock moves. ``GSI4SK`` is ``{due_at}#{kind}#{id}``: a query for ``<= as_of#~`` reads what
is due, oldest first.

Open invoices with a due date are indexed the same way under ``{scope}#OPEN#...``
(``kind`` ``inv``, ``due_at`` their due date) for the daily dunning run
(``billing.collections.dunning``): a query for ``<= as_of + lead`` reads the invoices a step
can be due for. Paying, voiding or writing one off rewrites the invoice without the keys.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from billing.adapters.dynamodb import table
from billing.scope import Scope

SHARDS = 16
INDEX = "GSI4"


DUE = "DUE"  # billing steps and drafts
OPEN = "OPEN"  # open invoices, for dunning


def keys(
    scope: Scope, kind: str, object_id: str, due_at: str | None, clock: str | None, work: str = DUE
) -> dict[str, str]:
    """The index attributes of an item due at ``due_at`` (none when nothing is due)."""
    if due_at is None:
        return {}
    partition = f"CLOCK#{clock}" if clock else f"{zlib.crc32(object_id.encode()) % SHARDS:02d}"
    return {"GSI4PK": f"{scope.key}#{work}#{partition}", "GSI4SK": f"{due_at}#{kind}#{object_id}"}


def partitions(scope: Scope, clock: str | None = None, work: str = DUE) -> list[str]:
    if clock:
        return [f"{scope.key}#{work}#CLOCK#{clock}"]
    return [f"{scope.key}#{work}#{shard:02d}" for shard in range(SHARDS)]


def due(
    partition: str, as_of: str, start: dict[str, Any] | None = None, limit: int = 100
) -> tuple[list[tuple[str, str, str]], dict[str, Any] | None]:
    """One page of ``(due_at, kind, id)`` due by ``as_of`` in a partition, oldest first, and
    where the next page starts (None: no more)."""
    request: dict[str, Any] = {
        "TableName": table.table_name(),
        "IndexName": INDEX,
        "KeyConditionExpression": "GSI4PK = :pk AND GSI4SK <= :until",
        "ExpressionAttributeValues": table.encode({":pk": partition, ":until": f"{as_of}#~"}),
        "ProjectionExpression": "GSI4SK",
        "Limit": limit,
    }
    if start:
        request["ExclusiveStartKey"] = start
    response = table.client().query(**request)
    found = []
    for item in response.get("Items", []):
        due_at, kind, object_id = table.decode(item)["GSI4SK"].split("#")
        found.append((due_at, kind, object_id))
    return found, response.get("LastEvaluatedKey")


def all_due(partition: str, as_of: str) -> Iterator[tuple[str, str, str]]:
    start = None
    while True:
        page, start = due(partition, as_of, start)
        yield from page
        if not start:
            return


class DynamoDueIndex:
    """The due index as invoice runs read it."""

    def partitions(self, scope: Scope) -> list[str]:
        return partitions(scope)

    def page(
        self, partition: str, as_of: str, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[tuple[str, str, str]], dict[str, Any] | None]:
        return due(partition, as_of, start, limit)
