"""Usage totals in the billing table (see KEYS.md, "Period total" and the usage items after it).

One item per (subscription, period, meter, group) under the period's key, so
a customer's usage for a period is one ``Query``. Chunk markers and distinct
value markers make each stream record count once (``billing.usage.aggregator``).

Keys hold digests of group values and distinct values, never the values themselves:
whatever a tenant sends (non-ASCII, several long group values), a key stays far below
DynamoDB's limits (1,024 bytes for a sort key, 2,048 for a partition key). The values are
attributes of the items, read back from there. The store's refusals of a write for what it
is (``ValidationException``: a size or number limit) are ``Unapplicable``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from billing.adapters.dynamodb import table, usage_dead_letters, usage_listing
from billing.adapters.dynamodb.usage_events import expires_at
from billing.scope import Scope
from billing.usage.aggregator import AlreadyApplied, Claim, Parked, Unapplicable, ValueTaken
from billing.usage.model import UsageEvent, group_key
from billing.usage.totals import AggregateKey, Delta, Stored, key_of

MARKER_TTL_S = 3 * 24 * 3600  # streams keep records 24 h: a retry never comes later than that
CHUNK_ITEMS = 90  # items a chunk's transaction may touch: DynamoDB transactions hold at most 100


def _touched(scope: Scope, event: UsageEvent) -> set[tuple[str, ...]]:
    """The items one event's commit writes: its total, its level, its distinct value's marker."""
    key = key_of(scope, event)
    items: set[tuple[str, ...]] = {("agg", repr(key))}
    if event.aggregation == "weighted_sum":
        items.add(("level", repr(key)))
    if event.unique is not None:
        items.add(("value", repr(key), event.unique))
    return items


def chunk_size(events: Sequence[tuple[Scope, UsageEvent]]) -> int:
    """How many of ``events`` (at least one) one transaction takes: ``CHUNK_ITEMS`` items at most,
    besides the marker (and the parked record a replay removes)."""
    items: set[tuple[str, ...]] = set()
    for count, (scope, event) in enumerate(events):
        more = _touched(scope, event) - items
        if count and len(items) + len(more) > CHUNK_ITEMS:
            return count
        items |= more
    return len(events)


def period_pk(scope: Scope, subscription: str, period_start: str) -> str:
    return f"{scope.key}#USG#{subscription}#{period_start}"


def _level_pk(scope: Scope, subscription: str) -> str:
    return f"{scope.key}#USGL#{subscription}"


def digest(text: str) -> str:
    """128 bits of SHA-256, in hex: a fixed-size key part for any value."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _group_sk(code: str, group: str) -> str:
    return f"{code}#{digest(group)}"


def _agg_key(key: AggregateKey) -> dict[str, str]:
    return {"PK": period_pk(key.scope, key.subscription, key.period_start), "SK": _group_sk(key.code, key.group_key)}


def _level_key(key: AggregateKey) -> dict[str, str]:
    return {"PK": _level_pk(key.scope, key.subscription), "SK": _group_sk(key.code, key.group_key)}


def _value_key(key: AggregateKey, value: str) -> dict[str, str]:
    return {
        "PK": f"{period_pk(key.scope, key.subscription, key.period_start)}#V#{_agg_key(key)['SK']}#{digest(value)}",
        "SK": "V",
    }


def _marker_key(marker: str) -> dict[str, str]:
    return {"PK": f"USGB#{digest(marker)}", "SK": "USGB"}


def _marker(claim: Claim) -> dict[str, Any]:
    """A put of the claim's marker, unless it exists (it lists the records it covers)."""
    item = {**_marker_key(claim.marker), "seqs": list(claim.sequences), "expires_at": int(time.time()) + MARKER_TTL_S}
    return table.put(item, "attribute_not_exists(PK)")


@contextmanager
def _refusals() -> Iterator[None]:
    """Writes DynamoDB refuses for what they are (key, item or number too large) are
    ``Unapplicable``; anything else (throttling, conflicts, outages) passes as it is."""
    try:
        yield
    except ClientError as exc:
        error = exc.response["Error"]["Code"]
        reasons = {reason.get("Code") for reason in exc.response.get("CancellationReasons", [])}
        if error == "ValidationException" or "ValidationError" in reasons:
            raise Unapplicable(exc.response["Error"].get("Message", error)) from None
        raise


def _describe(key: AggregateKey, delta: Delta) -> dict[str, Any]:
    """The attributes every write sets, so an item is readable whoever created it."""
    return {":code": key.code, ":group": delta.group, ":agg": delta.aggregation, ":pe": delta.period_end}


DESCRIBE = "code = :code, #group = :group, aggregation = :agg, period_end = :pe"


def _update(
    key: dict[str, str], expression: str, values: dict[str, Any], condition: str | None = None
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TableName": table.table_name(),
        "Key": table.encode(key),
        "UpdateExpression": expression,
        "ExpressionAttributeNames": {"#group": "group"} if "#group" in expression else None,
        "ExpressionAttributeValues": table.encode(values),
    }
    if condition:
        request["ConditionExpression"] = condition
    return {k: v for k, v in request.items() if v is not None}


COUNTERS = (("n", ":n"), ("#total", ":t"), ("wsum", ":w"), ("uq", ":u"))
"""A total's counters (``#total`` names ``total``, a reserved word) and their placeholders."""


def _add_counters(key: AggregateKey, delta: Delta, new_values: int) -> dict[str, Any]:
    """The update adding a delta to its total. A counter the delta leaves as it is (a sum meter's
    ``wsum`` and distinct values) is not named: an absent counter reads as zero, and every
    action named costs the emulator as much as a small write."""
    added = {":n": delta.n, ":t": delta.total, ":w": delta.wsum, ":u": new_values}
    counters = [(name, placeholder) for name, placeholder in COUNTERS if added[placeholder]]
    adds = ", ".join(f"{name} {placeholder}" for name, placeholder in counters)
    values = {placeholder: added[placeholder] for _, placeholder in counters}
    update = _update(_agg_key(key), f"ADD {adds} SET {DESCRIBE}", {**values, **_describe(key, delta)})
    update["ExpressionAttributeNames"] = {"#group": "group"} | ({"#total": "total"} if ":t" in values else {})
    return update


class DynamoAggregateStore:
    def chunk_size(self, events: Sequence[tuple[Scope, UsageEvent]]) -> int:
        return chunk_size(events)

    def list_by_customer(self, claim: Claim, events: Sequence[tuple[Scope, UsageEvent]]) -> None:
        """The chunk's events in their customers' lists (``usage_listing``), named after the
        chunk's first and last record: a retry cut shorter writes new items, never fewer
        positions over an item. They expire with the last of their events."""
        tag = digest(f"{claim.marker}#{claim.sequences[-1]}")[:16]
        with _refusals():
            usage_listing.write(tag, events, max(expires_at(event) for _, event in events))

    def raise_extremes(self, deltas: dict[AggregateKey, Delta]) -> None:
        for key, delta in deltas.items():
            if delta.aggregation == "max" and delta.max is not None:
                request = _update(
                    _agg_key(key),
                    f"SET mx = :v, {DESCRIBE}",
                    {":v": delta.max, **_describe(key, delta)},
                    "attribute_not_exists(mx) OR mx < :v",
                )
            elif delta.aggregation == "latest" and delta.latest is not None:
                values = {":o": delta.latest[0], ":v": delta.latest[1], **_describe(key, delta)}
                request = _update(
                    _agg_key(key), f"SET lt = :o, lv = :v, {DESCRIBE}", values, "attribute_not_exists(lt) OR lt < :o"
                )
            else:
                continue
            try:
                with _refusals():
                    table.client().update_item(**request)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise

    def unseen(self, deltas: dict[AggregateKey, Delta]) -> dict[AggregateKey, set[str]]:
        wanted = [(key, value) for key, delta in deltas.items() for value in sorted(delta.uniques)]
        if not wanted:
            return {}
        with _refusals():
            found = table.batch_get(table.table_name(), [_value_key(k, v) for k, v in wanted])
        seen = {item["PK"] for item in found}
        fresh: dict[AggregateKey, set[str]] = {}
        for key, value in wanted:
            if _value_key(key, value)["PK"] not in seen:
                fresh.setdefault(key, set()).add(value)
        return fresh

    def commit(self, claim: Claim, deltas: dict[AggregateKey, Delta], new_values: dict[AggregateKey, set[str]]) -> None:
        operations = [_marker(claim)]
        if claim.settles:
            operations.append(table.delete(usage_dead_letters.parked_key(claim.settles)))
        for key, delta in deltas.items():
            operations.append({"Update": _add_counters(key, delta, len(new_values.get(key, ())))})
            if delta.aggregation == "weighted_sum":
                level_values = {":t": delta.total, ":code": key.code, ":group": delta.group}
                level = _update(_level_key(key), "ADD #total :t SET code = :code, #group = :group", level_values)
                level["ExpressionAttributeNames"] = {"#group": "group", "#total": "total"}
                operations.append({"Update": level})
        value_ops = len(operations)
        for key, values in new_values.items():
            operations.extend(
                table.put({**_value_key(key, v), "n": 1}, "attribute_not_exists(PK)") for v in sorted(values)
            )
        conflicts: dict[int, Exception] = {0: _MarkerExists()}
        conflicts |= {index: ValueTaken() for index in range(value_ops, len(operations))}
        self._transact(claim, operations, conflicts)

    def park(self, claim: Claim, parked: Parked) -> None:
        self._transact(claim, [_marker(claim), table.put(usage_dead_letters.to_item(parked))], {0: _MarkerExists()})

    def carry(self, claim: Claim) -> None:
        try:
            with table.condition_as(_MarkerExists()):
                table.client().put_item(**_marker(claim)["Put"])
        except _MarkerExists:
            pass  # carried already

    @staticmethod
    def _transact(claim: Claim, operations: list[dict[str, Any]], conflicts: dict[int, Exception]) -> None:
        try:
            with _refusals():
                table.transact(operations, conflicts)
        except _MarkerExists:
            stored = table.get(_marker_key(claim.marker))
            if not stored:  # expired since the write that found it: the chunk is long settled
                raise RuntimeError(f"marker {claim.marker} exists and is gone") from None
            raise AlreadyApplied(stored["seqs"]) from None

    def period(self, scope: Scope, subscription: str, period_start: str) -> list[Stored]:
        return [from_item(item) for item in _query(period_pk(scope, subscription, period_start))]

    def levels(self, scope: Scope, subscription: str) -> dict[tuple[str, str], Decimal]:
        """Running totals of weighted meters over all periods, by meter code and group."""
        return {
            (item["code"], group_key(item.get("group") or {})): Decimal(item.get("total", 0))
            for item in _query(_level_pk(scope, subscription))
        }


class _MarkerExists(Exception):
    pass


def _query(pk: str) -> list[dict[str, Any]]:
    request: dict[str, Any] = {
        "TableName": table.table_name(),
        "KeyConditionExpression": "PK = :pk",
        "ExpressionAttributeValues": table.encode({":pk": pk}),
    }
    items: list[dict[str, Any]] = []
    while True:
        response = table.client().query(**request)
        items.extend(table.decode(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return items
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def from_item(item: dict[str, Any]) -> Stored:
    """A period total as stored: written by ``ADD``/``SET`` updates (``commit``, ``raise_extremes``),
    so every attribute but the descriptive ones may be missing, and then counts zero."""
    return Stored(
        code=item["code"],
        group=item.get("group") or {},
        aggregation=item["aggregation"],
        n=int(item.get("n", 0)),
        total=Decimal(item.get("total", 0)),
        wsum=Decimal(item.get("wsum", 0)),
        max=item.get("mx"),
        latest=item.get("lv"),
        unique=int(item.get("uq", 0)),
    )
