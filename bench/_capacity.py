"""DynamoDB write units of the requests a process makes, counted from the requests themselves.

The rules are DynamoDB's ("Capacity unit consumption for writes", "Global secondary indexes:
provisioned throughput considerations"):

- A write of an item costs one unit per KB of item, rounded up; a put that replaces an item
  is charged on the larger of the two.
- Each global secondary index is charged for the entry the write changes in it: one write for
  an entry that appears (or disappears), two when the write moves the entry's keys (a delete
  and a put), one when it changes only what the index projects, nothing when the entry is as
  it was or the item is in the index neither before nor after. An entry is the table's keys,
  the index's keys and what the index projects (the whole item for ``ALL``), and a large entry
  costs a unit per KB as well.
- A transactional write costs twice, on the table alone: an index is charged what the same
  change costs outside a transaction (measured against DynamoDB by the dynoxide emulator's
  maintainers, nubo-db/dynoxide#188). A ``ConditionCheck`` costs what a write of its item does.

To know what an index held before, the counter keeps the index entries of every item this
process has written through the client it is attached to: attach it before the data a
benchmark sets up, and ``reset`` it before the part that is measured. An item it has not seen
is taken as new. Item size follows DynamoDB's rules: attribute name bytes plus value bytes
(numbers about one byte per two digits, plus one). An update expression or a delete is charged
on the size of the item as last seen (one unit when unseen); none of ours sets an index key
in an update expression. A PartiQL ``INSERT`` (in ``BatchExecuteStatement``) costs what a put
of its item costs.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any

KB = 1024


@dataclass(frozen=True)
class Index:
    """A global secondary index: its key attributes (the first is the partition key) and the
    non-key attributes it projects (None: all of them)."""

    keys: tuple[str, ...]
    projects: frozenset[str] | None


@dataclass(frozen=True)
class Table:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...]


@cache
def tables() -> dict[str, Table]:
    """The DynamoDB tables of template.yaml by logical id."""
    from infra.template import load

    found = {}
    for logical_id, resource in load()["Resources"].items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        indexes = []
        for index in props.get("GlobalSecondaryIndexes", []):
            projection = index["Projection"]
            kind = projection.get("ProjectionType", "KEYS_ONLY")
            projects = None if kind == "ALL" else frozenset(projection.get("NonKeyAttributes", []))
            indexes.append(Index(tuple(k["AttributeName"] for k in index["KeySchema"]), projects))
        found[logical_id] = Table(tuple(k["AttributeName"] for k in props["KeySchema"]), tuple(indexes))
    return found


def table_of(name: str) -> Table:
    """The template's table a physical table name is made from (``{stack}-{logical id}[-...]``)."""
    for logical_id, table in tables().items():
        if logical_id in name:
            return table
    raise KeyError(f"no table of template.yaml is named in {name!r}")


def value_size(value: dict[str, Any]) -> int:
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return len(inner.lstrip("-").replace(".", "")) // 2 + 1 + (1 if inner.startswith("-") else 0)
    if kind == "B":
        return len(inner)
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    if kind in {"SS", "NS", "BS"}:
        return sum(len(str(v)) for v in inner)
    raise ValueError(kind)


def size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def _units(size_in_bytes: int) -> int:
    return max(1, math.ceil(size_in_bytes / KB))


@dataclass(frozen=True)
class Image:
    """What the counter remembers of a written item: its size and its index entries (None
    where it is not in an index), each as (its keys, what it projects, its size)."""

    size: int
    entries: tuple[tuple[str, str, int] | None, ...]


def image(table: Table, item: dict[str, Any]) -> Image:
    entries: list[tuple[str, str, int] | None] = []
    for index in table.indexes:
        if not all(key in item for key in index.keys):
            entries.append(None)
            continue
        names = {*table.keys, *index.keys} | (set(item) if index.projects is None else set(index.projects))
        keys = {name: item[name] for name in (*table.keys, *index.keys)}
        projected = {name: item[name] for name in sorted(names) if name in item and name not in keys}
        entry = {**keys, **projected}
        entries.append((json.dumps(keys, sort_keys=True), json.dumps(projected, sort_keys=True), size(entry)))
    return Image(size(item), tuple(entries))


def index_units(before: Image | None, after: Image | None, count: int) -> int:
    """The index writes of a change from ``before`` to ``after`` (None: no item)."""
    units = 0
    for n in range(count):
        old = before.entries[n] if before else None
        new = after.entries[n] if after else None
        if (old is None and new is None) or old == new:
            continue
        if old is None or new is None:
            units += _units((old or new)[2])  # type: ignore[index]
        elif old[0] != new[0]:
            units += _units(old[2]) + _units(new[2])  # the entry moves: a delete and a put
        else:
            units += _units(new[2])  # only what it projects changed
    return units


@dataclass
class WriteUnits:
    """Attach to a botocore DynamoDB client; ``units`` sums every write it sent since the last
    ``reset``, ``requests`` counts its requests (reads included).

    Attached ``deferred``, it only keeps each request as it is sent and counts them all at
    ``settle``: counting is CPU in the process whose throughput a benchmark measures, which the
    baseline it is compared with does not pay."""

    units: int = 0
    requests: int = 0
    _images: dict[tuple[str, str], Image] = field(default_factory=dict)
    _kept: list[tuple[dict[str, Any], Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, client: Any, deferred: bool = False) -> None:
        client.meta.events.register("provide-client-params.dynamodb.*", self._keep if deferred else self._count)

    def settle(self) -> None:
        """Count the requests kept so far, in the order they were sent."""
        with self._lock:
            kept, self._kept = self._kept, []
        for params, model in kept:
            self._count(params, model)

    def reset(self) -> None:
        self.settle()  # what the kept requests wrote is known before it
        with self._lock:
            self.units = self.requests = 0

    def _keep(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        with self._lock:
            self._kept.append((params, model))

    def put(self, table_name: str, item: dict[str, Any], factor: int = 1) -> int:
        """The units of a put of ``item`` (``factor`` 2 in a transaction), remembered."""
        table = table_of(table_name)
        key = self._key(table_name, table, item)
        after = image(table, item)
        with self._lock:
            before = self._images.get(key)
            self._images[key] = after
        largest = max(after.size, before.size if before else 0)
        return factor * _units(largest) + index_units(before, after, len(table.indexes))

    def change(self, table_name: str, key_item: dict[str, Any], factor: int = 1, delete: bool = False) -> int:
        """The units of an update, a delete or a condition check of the item with this key."""
        table = table_of(table_name)
        key = self._key(table_name, table, key_item)
        with self._lock:
            before = self._images.pop(key, None) if delete else self._images.get(key)
        units = factor * _units(before.size if before else 0)
        return units + (index_units(before, None, len(table.indexes)) if delete else 0)

    @staticmethod
    def _key(table_name: str, table: Table, item: dict[str, Any]) -> tuple[str, str]:
        return table_name, json.dumps([item[name] for name in table.keys])

    def _count(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        units = 0
        match model.name:
            case "BatchWriteItem":
                for name, requests in params["RequestItems"].items():
                    for request in requests:
                        if put := request.get("PutRequest"):
                            units += self.put(name, put["Item"])
                        else:
                            units += self.change(name, request["DeleteRequest"]["Key"], delete=True)
            case "PutItem":
                units = self.put(params["TableName"], params["Item"])
            case "UpdateItem":
                units = self.change(params["TableName"], params["Key"])
            case "DeleteItem":
                units = self.change(params["TableName"], params["Key"], delete=True)
            case "BatchExecuteStatement":  # PartiQL INSERTs: the item is in the parameters
                for statement in params["Statements"]:
                    if statement["Statement"].lstrip().upper().startswith("INSERT"):
                        table = re.findall(r'INTO\s+"([^"]+)"', statement["Statement"])[0]
                        names = re.findall(r"'([^']+)'\s*:\s*\?", statement["Statement"])
                        units += self.put(table, dict(zip(names, statement["Parameters"], strict=True)))
            case "TransactWriteItems":
                for operation in params["TransactItems"]:
                    kind, body = next(iter(operation.items()))
                    if kind == "Put":
                        units += self.put(body["TableName"], body["Item"], factor=2)
                    else:
                        units += self.change(body["TableName"], body["Key"], factor=2, delete=kind == "Delete")
        with self._lock:
            self.units += units
            self.requests += 1
