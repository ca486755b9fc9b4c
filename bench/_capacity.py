"""DynamoDB write units of the requests a process makes, counted from the requests themselves.

A write unit is one write of up to 1 KB of item (rounded up per item). Each global secondary
index the item appears in (it has the index's partition key) costs one write of its index
entry: the table's keys, the index's keys and what the index projects (the whole item for
``ALL``), as template.yaml declares the table, rounded up per KB as well (DynamoDB: "larger
index entries require additional write capacity units"). Every index the item appears in is
charged on every write of it, changed or not (DynamoDB skips an index whose entry a write
leaves as it was, and charges a delete and a put for one whose keys it moves: neither is
known from the request alone). A transactional write costs twice, its index writes included.
Item size follows DynamoDB's rules: attribute name bytes plus value bytes (numbers about one
byte per two digits, plus one). Update expressions are counted as one unit per item
touched, plus its index writes if it sets an index key (the aggregates have none). A PartiQL
``INSERT`` (in ``BatchExecuteStatement``) costs what a put of its item costs.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any


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


def _units(item: dict[str, Any], names: Any = None) -> int:
    size = sum(len(name.encode()) + value_size(value) for name, value in item.items() if names is None or name in names)
    return max(1, math.ceil(size / 1024))


def item_units(table_name: str, item: dict[str, Any]) -> int:
    """A put of ``item``: the item, then the entry of each index it appears in."""
    table = table_of(table_name)
    units = _units(item)
    for index in table.indexes:
        if index.keys[0] in item:
            projected = None if index.projects is None else {*table.keys, *index.keys, *index.projects}
            units += _units(item, projected)
    return units


class WriteUnits:
    """Attach to a botocore DynamoDB client; ``units`` sums every write it sent."""

    def __init__(self) -> None:
        self.units = 0
        self.requests = 0
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        client.meta.events.register("provide-client-params.dynamodb.*", self._count)

    def _count(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        units = 0
        match model.name:
            case "BatchWriteItem":
                for name, requests in params["RequestItems"].items():
                    for request in requests:
                        put = request.get("PutRequest")
                        units += item_units(name, put["Item"]) if put else 1
            case "PutItem":
                units = item_units(params["TableName"], params["Item"])
            case "UpdateItem" | "DeleteItem":
                units = 1
            case "BatchExecuteStatement":  # PartiQL INSERTs: the item is in the parameters
                for statement in params["Statements"]:
                    if statement["Statement"].lstrip().upper().startswith("INSERT"):
                        table = re.findall(r'INTO\s+"([^"]+)"', statement["Statement"])[0]
                        names = re.findall(r"'([^']+)'\s*:\s*\?", statement["Statement"])
                        units += item_units(table, dict(zip(names, statement["Parameters"], strict=True)))
            case "TransactWriteItems":
                for operation in params["TransactItems"]:
                    kind, body = next(iter(operation.items()))
                    units += 2 * (item_units(body["TableName"], body["Item"]) if kind == "Put" else 1)
        with self._lock:
            self.units += units
            self.requests += 1
