"""DynamoDB write units of the requests a process makes, counted from the requests themselves.

A write unit is one write of up to 1 KB of item (rounded up per item); each global secondary
index the item appears in costs the same again; a transactional write costs twice. Item
size follows DynamoDB's rules: attribute name bytes plus value bytes (numbers about one
byte per two digits, plus one). Update expressions are counted as one unit per item
touched, plus its index writes if it sets an index key (the aggregates have none). A PartiQL
``INSERT`` (in ``BatchExecuteStatement``) costs what a put of its item costs.
"""

from __future__ import annotations

import math
import re
import threading
from typing import Any

INDEXED = {"GSI1PK", "GSI2PK", "GSI3PK", "GSI4PK"}


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


def item_units(item: dict[str, Any]) -> int:
    size = sum(len(name.encode()) + value_size(value) for name, value in item.items())
    units = max(1, math.ceil(size / 1024))
    return units * (1 + len(INDEXED & set(item)))


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
                for requests in params["RequestItems"].values():
                    for request in requests:
                        put = request.get("PutRequest")
                        units += item_units(put["Item"]) if put else 1
            case "PutItem":
                units = item_units(params["Item"])
            case "UpdateItem" | "DeleteItem":
                units = 1
            case "BatchExecuteStatement":  # PartiQL INSERTs: the item is in the parameters
                for statement in params["Statements"]:
                    if statement["Statement"].lstrip().upper().startswith("INSERT"):
                        names = re.findall(r"'([^']+)'\s*:\s*\?", statement["Statement"])
                        units += item_units(dict(zip(names, statement["Parameters"], strict=True)))
            case "TransactWriteItems":
                for operation in params["TransactItems"]:
                    kind, body = next(iter(operation.items()))
                    units += 2 * (item_units(body["Item"]) if kind == "Put" else 1)
        with self._lock:
            self.units += units
            self.requests += 1
