"""A customer's usage events in time order, written by the aggregator chunk by chunk (see
KEYS.md, "Event list").

Listing a customer's events newest first needs them ordered by timestamp under the customer.
An index entry per event did that at the price of a second write per event. Instead the
aggregator, for each chunk of the stream it applies, writes one item per customer and hour
holding the positions (``timestamp#transaction_id``) and meter codes of that customer's events
of the chunk: a write per customer and hour per chunk, whatever the number of events.

Items are sorted by their newest position. Every item spans at most one hour (of event
time), so an item holding positions below a page's start (``upper``) and its newest at or
above it lies in ``upper``'s hour: a page reads, newest first, from the end of that hour. Once
it holds a full page (and one more), an item whose newest position is older than the page's
oldest cannot add to it, nor can any item after it: the read stops there.

Items are written before their chunk commits, so a chunk retried after a failure (even one
cut shorter, when Lambda splits its batch) writes them again: an event may then sit in two
items, and reading keeps each position once. An item's key names its chunk's first and last
record, so a retry never overwrites an item with fewer positions.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from billing.adapters.dynamodb import table
from billing.pagination import MAX_SCANNED
from billing.scope import Scope
from billing.usage.model import UsageEvent

MAX_ENTRIES = 1000  # positions per item: about 150 KB at most, far below DynamoDB's 400 KB


def _pk(scope: Scope, customer: str) -> str:
    return f"{scope.key}#UEVC#{customer}"


def position(event: UsageEvent) -> str:
    """Where an event sits in its customer's list (timestamps are all ``YYYY-MM-DDTHH:MM:SSZ``)."""
    return f"{event.timestamp}#{event.transaction_id}"


def transaction_id(at: str) -> str:
    return at.partition("#")[2]


def _hour(at: str) -> str:
    return at[:13]  # YYYY-MM-DDTHH


@dataclass(frozen=True)
class Listed:
    """One stored item: its newest position and its positions by meter code."""

    newest: str
    codes: dict[str, list[str]]

    def entries(self) -> Iterator[tuple[str, str]]:
        for code, positions in self.codes.items():
            for at in positions:
                yield at, code


def to_items(tag: str, events: Sequence[tuple[Scope, UsageEvent]], expires_at: int) -> list[dict[str, Any]]:
    """The items listing ``events`` (one chunk's, named ``tag``): per customer and hour, at most
    ``MAX_ENTRIES`` positions each."""
    runs: dict[tuple[Scope, str, str], list[tuple[str, str]]] = {}
    for scope, event in events:
        at = position(event)
        runs.setdefault((scope, event.customer, _hour(at)), []).append((at, event.code))
    items: list[dict[str, Any]] = []
    for (scope, customer, _), entries in runs.items():
        entries.sort(reverse=True)
        for start in range(0, len(entries), MAX_ENTRIES):
            part = entries[start : start + MAX_ENTRIES]
            codes: dict[str, list[str]] = {}
            for at, code in part:
                codes.setdefault(code, []).append(at)
            key = {"PK": _pk(scope, customer), "SK": f"{part[0][0]}#{tag}"}
            items.append({**key, "e": codes, "expires_at": expires_at})
    return items


def from_item(item: dict[str, Any]) -> Listed:
    return Listed(newest=str(item["SK"]).rsplit("#", 1)[0], codes={k: list(v) for k, v in item["e"].items()})


def write(tag: str, events: Sequence[tuple[Scope, UsageEvent]], expires_at: int) -> None:
    table.batch_put(table.table_name(), to_items(tag, events, expires_at))


def newest_first(scope: Scope, customer: str, lower: str, upper: str) -> Iterator[Listed]:
    """Items that may hold positions in ``[lower, upper)``, newest first: from the end of
    ``upper``'s hour (an item there may straddle ``upper``) down to ``lower``."""
    bounds = {":pk": _pk(scope, customer), ":lo": lower, ":hi": _hour(upper) + "~"}
    request: dict[str, Any] = {
        "TableName": table.table_name(),
        "KeyConditionExpression": "PK = :pk AND SK BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": table.encode(bounds),
        "ScanIndexForward": False,
        "Limit": 20,
    }
    while True:
        response = table.client().query(**request)
        yield from (from_item(table.decode(item)) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def page(
    scope: Scope, customer: str, window: tuple[str, str], code: str | None, limit: int, upper: str
) -> tuple[list[str], str | None]:
    """Up to ``limit`` + 1 positions in ``[window[0], upper)`` (of meter ``code`` if given),
    newest first, and the floor of what was read (None if nothing below it is left unread).

    With a code, a read stops once it has looked at ``MAX_SCANNED`` positions (and at an item
    below ``upper``): the positions below the newest of the last item read (the floor) may then
    be unread, so the page holds only those at or above it, and the next one starts there."""
    newest: list[str] = []  # min-heap of the newest limit + 1 positions found
    found: set[str] = set()
    examined, floor, last = 0, None, None
    for item in newest_first(scope, customer, window[0], upper):
        if len(newest) > limit and item.newest <= newest[0]:
            return sorted(newest, reverse=True), None  # nothing from here on is newer than the page
        if code and examined >= MAX_SCANNED and last is not None and last < upper:
            floor = last
            break
        for at, its_code in item.entries():
            examined += 1
            if window[0] <= at < upper and code in (None, its_code) and at not in found:
                found.add(at)
                if len(newest) <= limit:
                    heapq.heappush(newest, at)
                elif at > newest[0]:
                    heapq.heapreplace(newest, at)
        last = item.newest
    return sorted((at for at in newest if floor is None or at >= floor), reverse=True), floor
