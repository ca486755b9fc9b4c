"""The DynamoDB client, item codec, and error translation."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from billing.adapters import aws
from billing.adapters.dynamodb.attributes import deserialize, serialize
from billing.errors import BillingError, Conflict
from billing.pagination import MAX_SCANNED
from billing.settings import get_settings, required

Item = dict[str, Any]


def client() -> Any:
    """The DynamoDB client of the current endpoint (``billing.adapters.aws``)."""
    return aws.client("dynamodb")


def table_name() -> str:
    return required(get_settings().table_name, "BILLING_TABLE")


def encode(item: Mapping[str, Any]) -> dict[str, Any]:
    """Python values -> DynamoDB attribute values; ``None`` attributes are left out."""
    return {key: serialize(value) for key, value in item.items() if value is not None}


def decode(item: Mapping[str, Any]) -> Item:
    return {key: deserialize(value) for key, value in item.items()}


def get(key: Mapping[str, str], consistent: bool = True) -> Item | None:
    response = client().get_item(TableName=table_name(), Key=encode(key), ConsistentRead=consistent)
    item = response.get("Item")
    return decode(item) if item else None


@dataclass(frozen=True)
class Kept:
    """What a conditional put found in its place: the stored item, or None when it was gone by
    the time it was read (a conflicting item deleted or expired meanwhile)."""

    item: Item | None


def put_unless_kept(item: Mapping[str, Any], condition: str, values: Mapping[str, Any] | None = None) -> Kept | None:
    """Write ``item`` if ``condition`` holds (one request): None when it was written, else the
    item kept in its place, given back by the failed condition itself (DynamoDB's
    ``ReturnValuesOnConditionCheckFailure``; an emulator that omits it costs one read more)."""
    request: dict[str, Any] = {"TableName": table_name(), "Item": encode(item), "ConditionExpression": condition,
                               "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}  # fmt: skip
    if values:
        request["ExpressionAttributeValues"] = encode(values)
    try:
        client().put_item(**request)
        return None
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        old = exc.response.get("Item")
        return Kept(decode(old) if old else get({"PK": item["PK"], "SK": item["SK"]}))


def put(
    item: Mapping[str, Any], condition: str | None = None, values: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A ``Put`` for ``transact``; ``condition`` (with its ``values``) guards it."""
    request: dict[str, Any] = {"TableName": table_name(), "Item": encode(item)}
    if condition:
        request["ConditionExpression"] = condition
    if values:
        request["ExpressionAttributeValues"] = encode(values)
    return {"Put": request}


def delete(key: Mapping[str, str]) -> dict[str, Any]:
    """A ``Delete`` for ``transact``."""
    return {"Delete": {"TableName": table_name(), "Key": encode(key)}}


TRANSACTION_ATTEMPTS = 4


def transact(operations: list[dict[str, Any]], conflicts: Mapping[int, Exception]) -> None:
    """Write all operations or none.

    A failed condition at index i raises ``conflicts[i]`` (or a retryable
    ``concurrent_update`` where none is given). A transaction that lost against
    another one touching the same items is retried, with backoff, a few times.
    Any other cancellation (throttling, validation) is raised as it is.
    """
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            client().transact_write_items(TransactItems=operations)
            return
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            codes = [reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])]
            for index, code in enumerate(codes):
                if code == "ConditionalCheckFailed":
                    raise conflicts.get(index) or _concurrent_update() from None
            if set(codes) - {"None", "TransactionConflict"}:
                raise
            time.sleep(0.02 * 2**attempt + random.random() * 0.02)
    raise _concurrent_update()


BATCH_ATTEMPTS = 8


def batch_get(table: str, keys: Sequence[Mapping[str, str]], projection: str | None = "PK") -> list[Item]:
    """Strongly consistent ``BatchGetItem`` of any number of keys (100 per request), of the
    attributes in ``projection`` (None: whole items)."""
    found: list[Item] = []
    for start in range(0, len(keys), 100):
        read: dict[str, Any] = {"Keys": [encode(key) for key in keys[start : start + 100]], "ConsistentRead": True}
        if projection:
            read["ProjectionExpression"] = projection
        request = {table: read}
        for attempt in range(BATCH_ATTEMPTS):
            response = client().batch_get_item(RequestItems=request)
            found.extend(decode(item) for item in response.get("Responses", {}).get(table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            _backoff(attempt)
        else:
            raise BillingError("The store is busy; retry.", code="store_busy", retryable=True)
    return found


def get_many(keys: Sequence[Mapping[str, str]]) -> list[Item | None]:
    """The items at ``keys`` of the billing table (None where there is none), strongly
    consistent, in one request for up to 100 keys (a ``GetItem`` for one)."""
    if len(keys) == 1:
        return [get(keys[0])]
    found = {(item["PK"], item["SK"]): item for item in batch_get(table_name(), keys, projection=None)}
    return [found.get((key["PK"], key["SK"])) for key in keys]


def batch_put(table: str, items: Sequence[Mapping[str, Any]]) -> None:
    """``BatchWriteItem`` of any number of items (25 per request), unprocessed ones retried."""
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": encode(item)}} for item in items[start : start + 25]]
        for attempt in range(BATCH_ATTEMPTS):
            response = client().batch_write_item(RequestItems={table: requests})
            requests = (response.get("UnprocessedItems") or {}).get(table, [])
            if not requests:
                break
            _backoff(attempt)
        else:
            raise BillingError("The store is busy; retry.", code="store_busy", retryable=True)


RETRYABLE_STATEMENT = {
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
    "InternalServerError",
    "TransactionConflict",
}


def batch_insert(table: str, items: Sequence[Mapping[str, Any]]) -> list[bool]:
    """Create each item only where its key is free: PartiQL ``INSERT``s, 25 per
    ``BatchExecuteStatement``, each succeeding or failing alone (``DuplicateItem`` when the key
    exists), at the cost of a plain write. True for the items this call created. (A
    ``BatchWriteItem`` cannot be conditional; a transaction costs twice and fails whole.)"""
    created = [False] * len(items)
    for start in range(0, len(items), 25):
        pending = {index: _insert_statement(table, items[index]) for index in range(start, min(start + 25, len(items)))}
        for attempt in range(BATCH_ATTEMPTS):
            indexes = list(pending)
            responses = client().batch_execute_statement(Statements=[pending[i] for i in indexes])["Responses"]
            for index, response in zip(indexes, responses, strict=True):
                code = response.get("Error", {}).get("Code")
                if code is None:
                    created[index] = True
                if code not in RETRYABLE_STATEMENT:
                    pending.pop(index)
                if code not in (None, "DuplicateItem", *RETRYABLE_STATEMENT):
                    raise BillingError(f"The store refused a write: {code}: {response['Error'].get('Message')}")
            if not pending:
                break
            _backoff(attempt)
        else:
            raise BillingError("The store is busy; retry.", code="store_busy", retryable=True)
    return created


def _insert_statement(table: str, item: Mapping[str, Any]) -> dict[str, Any]:
    encoded = encode(item)
    names = ", ".join(f"'{name}': ?" for name in encoded)
    return {"Statement": f'INSERT INTO "{table}" VALUE {{{names}}}', "Parameters": list(encoded.values())}


def _backoff(attempt: int) -> None:
    time.sleep(min(0.02 * 2**attempt, 1.0) + random.random() * 0.02)


def _concurrent_update() -> Conflict:
    return Conflict("The object was changed by another request; retry.", code="concurrent_update", retryable=True)


@contextmanager
def condition_as(error: Exception) -> Iterator[None]:
    """Translate a failed condition of a single-item write into a domain error."""
    try:
        yield
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise error from None
        raise


def list_index(options: Sequence[tuple[str, str | None, str]], default: tuple[str, str]) -> tuple[str, str]:
    """The index a list reads and its key: the first of ``(index, filter value, key prefix)``
    whose filter was given, else ``default`` (the index of every object of the kind)."""
    for index, value, prefix in options:
        if value is not None:
            return index, f"{prefix}{value}"
    return default


def after(key: Mapping[str, str], index: str, key_value: str, object_id: str | None) -> Item | None:
    """Where a list by id in ``index`` resumes after ``object_id`` (whose item key is ``key``):
    ids sort by time, so the cursor alone locates the page, without a read."""
    return {**key, f"{index}PK": key_value, f"{index}SK": object_id} if object_id else None


def query_all(
    key_value: str, index: str | None = None, consistent: bool = False, status: str | tuple[str, ...] | None = None
) -> list[Item]:
    """Every item under one partition key of the table (or of ``index``), in key order; only
    those in ``status`` (one, or any of several) when given (a list index projects it)."""
    key_name = f"{index}PK" if index else "PK"
    statuses = (status,) if isinstance(status, str) else status or ()
    wanted = {f":s{n}": value for n, value in enumerate(statuses)}
    request: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": f"{key_name} = :pk",
        "ExpressionAttributeValues": encode({":pk": key_value, **wanted}),
    }
    if wanted:
        request |= {"FilterExpression": f"#status IN ({', '.join(wanted)})",
                    "ExpressionAttributeNames": {"#status": "status"}}  # fmt: skip
    if index:
        request["IndexName"] = index
    else:
        request["ConsistentRead"] = consistent
    found: list[Item] = []
    while True:
        response = client().query(**request)
        found.extend(decode(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return items_of(found) if index else found
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def items_of(entries: Sequence[Item]) -> list[Item]:
    """The items of index entries, in their order. The list indexes project keys and the few
    attributes lists filter on (template.yaml), not whole items: an item is written once, not
    copied into each index, and read from the table when listed (an item deleted since its
    entry was read is left out)."""
    keys = [(entry["PK"], entry["SK"]) for entry in entries]
    read = batch_get(table_name(), [{"PK": pk, "SK": sk} for pk, sk in keys], projection=None)
    found = {(item["PK"], item["SK"]): item for item in read}
    return [found[key] for key in keys if key in found]


def partition_page(pk: str, start: Mapping[str, str] | None, limit: int) -> tuple[list[Item], bool]:
    """A page of one partition, newest first (sort key descending), consistent: up to ``limit``
    items after the key ``start``, and whether more follow (one request: ``Limit`` is one more)."""
    query: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": encode({":pk": pk}),
        "ScanIndexForward": False,
        "Limit": limit + 1,
        "ConsistentRead": True,
    }
    if start:
        query["ExclusiveStartKey"] = encode(start)
    items = [decode(item) for item in client().query(**query).get("Items", [])]
    return items[:limit], len(items) > limit


def query_pages(
    index: str,
    key_name: str,
    key_value: str,
    start: Item | None,
    want: int,
    filter_expr: str | None = None,
    names: dict[str, str] | None = None,
    values: Item | None = None,
) -> tuple[list[Item], str | None]:
    """Newest-first query of ``index`` for up to ``want`` items passing the filter (which reads
    only what the index projects), and where the next page starts (the index sort key, an id,
    of the last item consumed), None at the end. The items are read from the table (``items_of``).

    It reads at most ``MAX_SCANNED`` items (``want + 1`` at least): stopped by that bound, it
    returns the matches found so far and the last item read as the cursor, matched or not."""
    budget = max(MAX_SCANNED, want + 1)
    request: dict[str, Any] = {
        "TableName": table_name(),
        "IndexName": index,
        "KeyConditionExpression": f"{key_name} = :pk",
        "ExpressionAttributeValues": encode({":pk": key_value, **(values or {})}),
        "ScanIndexForward": False,
        # A filter drops items after they are read: read more per round than asked for.
        "Limit": want + 1 if not filter_expr else min(max(want + 1, 100), budget),
    }
    if filter_expr:
        request["FilterExpression"] = filter_expr
    if names:
        request["ExpressionAttributeNames"] = names
    if start:
        request["ExclusiveStartKey"] = encode(start)
    found: list[Item] = []
    scanned = 0
    while True:
        response = client().query(**request)
        items = response.get("Items", [])
        found.extend(decode(item) for item in items)
        scanned += response.get("ScannedCount", len(items))
        last = response.get("LastEvaluatedKey")
        if len(found) > want:
            return items_of(found[:want]), found[want - 1][f"{index}SK"]
        if not last:
            return items_of(found), None
        if scanned >= budget:
            return items_of(found), decode(last)[f"{index}SK"]
        request["ExclusiveStartKey"] = last
        request["Limit"] = min(request["Limit"], budget - scanned)
