"""Gap-free numbers: a counter item written in the same transaction as the document that
takes the number. Racing writers read the counter, and all but one find it moved and try
again with the next number; a number is never skipped nor used twice.

- counter: the caller's key (``{scope}#INVSEQ``, ``{scope}#CNSEQ``), ``n`` = the last number
  issued (a number attribute, nothing else).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from billing.adapters.dynamodb import table
from billing.errors import Conflict

ATTEMPTS = 25

Found = Sequence[dict[str, Any] | None]


class _Moved(Exception):
    pass


def take(
    counter: dict[str, str],
    write: Callable[[int, Found], list[dict[str, Any]]],
    conflicts: Mapping[int, Exception],
    reads: Sequence[Mapping[str, str]] = (),
) -> int:
    """Write ``write(n, found)`` (transaction operations) with ``n`` the next number of
    ``counter`` and ``found`` the items at ``reads`` (None where there is none), read in the
    same request as the counter, and again whenever another writer took the number first;
    ``conflicts`` map the indexes of ``write``'s operations to the errors their conditions raise."""
    for _ in range(ATTEMPTS):
        stored, *found = table.get_many([counter, *reads])
        last = int(stored["n"]) if stored else 0
        update = {
            "Update": {
                "TableName": table.table_name(),
                "Key": table.encode(counter),
                "UpdateExpression": "SET n = :next",
                "ConditionExpression": "n = :last" if stored else "attribute_not_exists(n)",
                "ExpressionAttributeValues": table.encode({":next": last + 1, **({":last": last} if stored else {})}),
            }
        }
        try:
            operations = [update, *write(last + 1, found)]
            table.transact(operations, {0: _Moved(), **{i + 1: e for i, e in conflicts.items()}})
        except _Moved:
            continue
        return last + 1
    raise Conflict("Numbering is busy; retry.", code="concurrent_update", retryable=True)
