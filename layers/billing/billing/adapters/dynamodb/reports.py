"""Report aggregates in the billing table (KEYS.md, "Reports").

- bucket: ``PK={scope}#RPT#{report}#{currency}#{slice}#{grouping}``, ``SK={group}#{date}#{shard}``
  where ``{slice}`` is ``all`` or ``h(slice)``, ``{grouping}`` ``_`` (totals), ``plan``,
  ``meter`` or ``supplier``, ``{group}`` ``_`` or ``h(value)``; attributes ``g`` (the group's
  value), ``d`` (the date) and the counters, added to (``ADD``) by the aggregator.
  ``{shard}`` (crc32 of the record mod ``SHARDS[report]``) spreads a busy day's writes.
- contribution: ``PK={scope}#RPTC#{customer}``, ``SK={kind}#{id}``: ``c`` (the record's
  last contribution, zlib-compressed JSON), ``debt``, ``sl`` (its slices), ``v``.
- debtor: ``PK={scope}#RPTD#{customer}``, ``SK={currency}#{slice}``: ``inv`` (open invoice ->
  ``[amount, due date]``), ``amt``, ``due`` (the oldest due date), ``cus``, ``v``; while
  ``amt > 0``, ``GSI1PK={scope}#RPTD#{currency}#{slice}``, ``GSI1SK={amt:015d}#{customer}``.
- claim: ``PK={scope}#RPTE#{event_id}``, ``SK=RPTE``, ``expires_at`` (a week).
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from billing.adapters.dynamodb import table
from billing.errors import BillingError
from billing.reports.aggregator import Held
from billing.reports.buckets import ALL, Bucket, Contribution, Counters, from_json, to_json
from billing.reports.records import Counted, Debt, Ref
from billing.reports.service import Row, Top
from billing.scope import Scope

SHARDS = {"MRR": 4, "REV": 4, "AGE": 4, "USG": 4}
CLAIM_TTL_S = 7 * 86400
MAX_WRITES = 100  # a transaction's limit


def h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def slice_key(slice_: str) -> str:
    return "all" if slice_ == ALL else h(slice_)


def partition(scope: Scope, report: str, currency: str, slice_: str, grouping: str) -> str:
    return f"{scope.key}#RPT#{report}#{currency}#{slice_key(slice_)}#{grouping or '_'}"


def group_prefix(value: str | None) -> str:
    return "_" if value is None else h(value)


def bucket_key(scope: Scope, bucket: Bucket, record: str) -> dict[str, str]:
    grouping, _, value = bucket.group.partition(":")
    shard = zlib.crc32(record.encode()) % SHARDS[bucket.report]
    sk = f"{group_prefix(value if grouping else None)}#{bucket.date}#{shard}"
    return {"PK": partition(scope, bucket.report, bucket.currency, bucket.slice, grouping), "SK": sk}


def _bucket_update(scope: Scope, bucket: Bucket, record: str, counters: Counters) -> dict[str, Any]:
    names = {f"#c{n}": name for n, name in enumerate(sorted(counters))}
    values: dict[str, Any] = {f":c{n}": counters[name] for n, name in enumerate(sorted(counters))}
    values |= {":g": bucket.group.partition(":")[2], ":d": bucket.date}
    adds = ", ".join(f"#c{n} :c{n}" for n in range(len(counters)))
    return {"Update": {
        "TableName": table.table_name(), "Key": table.encode(bucket_key(scope, bucket, record)),
        "UpdateExpression": f"SET g = :g, d = :d ADD {adds}",
        "ExpressionAttributeNames": names, "ExpressionAttributeValues": table.encode(values),
    }}  # fmt: skip


def _contribution_key(scope: Scope, customer: str, ref: Ref) -> dict[str, str]:
    return {"PK": f"{scope.key}#RPTC#{customer}", "SK": ref.key}


def _contribution_item(scope: Scope, counted: Counted, version: int) -> dict[str, Any]:
    debt = counted.debt
    return {
        **_contribution_key(scope, counted.customer, counted.ref), "entity": "report_contribution",
        "c": zlib.compress(json.dumps(to_json(counted.contribution), separators=(",", ":")).encode()),
        "debt": [debt.invoice, debt.currency, debt.amount, debt.due_date] if debt else None,
        "sl": list(counted.slices), "v": version,
    }  # fmt: skip


def _held(item: dict[str, Any]) -> Held:
    debt = item.get("debt")
    return Held(
        from_json(json.loads(zlib.decompress(bytes(item["c"])))),
        Debt(debt[0], debt[1], int(debt[2]), debt[3]) if debt else None,
        tuple(item.get("sl", [])), int(item["v"]),
    )  # fmt: skip


def _debtor_key(scope: Scope, customer: str, currency: str, slice_: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#RPTD#{customer}", "SK": f"{currency}#{slice_key(slice_)}"}


def debtor_item(scope: Scope, customer: str, currency: str, slice_: str, open_: dict[str, list[Any]],
                version: int) -> dict[str, Any]:  # fmt: skip
    amount = sum(int(amount) for amount, _ in open_.values())
    item: dict[str, Any] = {
        **_debtor_key(scope, customer, currency, slice_), "entity": "report_debtor", "cus": customer,
        "inv": open_, "amt": amount, "due": min((due for _, due in open_.values()), default=None), "v": version,
    }  # fmt: skip
    if amount > 0:
        item |= {"GSI1PK": f"{scope.key}#RPTD#{currency}#{slice_key(slice_)}", "GSI1SK": f"{amount:015d}#{customer}"}
    return item


class _Claimed(Exception):
    pass


def _claim_put(scope: Scope, event_id: str) -> dict[str, Any]:
    item = {"PK": f"{scope.key}#RPTE#{event_id}", "SK": "RPTE", "expires_at": int(time.time()) + CLAIM_TTL_S}
    return table.put(item, "attribute_not_exists(PK)")


class DynamoReportStore:
    def held(self, scope: Scope, customer: str, ref: Ref) -> Held | None:
        item = table.get(_contribution_key(scope, customer, ref))
        return _held(item) if item else None

    def claim(self, scope: Scope, event_id: str) -> bool:
        try:
            table.transact([_claim_put(scope, event_id)], {0: _Claimed()})
        except _Claimed:
            return False
        return True

    def refs_of(self, scope: Scope, customer: str) -> list[Ref]:
        items = table.query_all(f"{scope.key}#RPTC#{customer}", consistent=True)
        return [Ref(*item["SK"].split("#", 1)) for item in items]

    def apply(self, scope: Scope, event_id: str | None, counted: Counted, held: Held | None,
              changes: Contribution) -> bool:  # fmt: skip
        version = held.version if held else 0
        condition = "v = :v" if held else "attribute_not_exists(PK)"
        operations = [_claim_put(scope, event_id)] if event_id else []
        operations.append(table.put(_contribution_item(scope, counted, version + 1), condition,
                                    {":v": version} if held else None))  # fmt: skip
        operations += [_bucket_update(scope, b, counted.ref.key, c) for b, c in sorted(changes.items())]
        operations += self._debtors(scope, counted, held)
        if len(operations) > MAX_WRITES:  # never split: a half applied twice would count twice
            raise BillingError(f"{counted.ref.key} changes {len(operations)} items at once; rebuild its reports.")
        try:
            table.transact(operations, {0: _Claimed()} if event_id else {})
        except _Claimed:
            return False
        return True

    def _debtors(self, scope: Scope, counted: Counted, held: Held | None) -> list[dict[str, Any]]:
        before = held.debt if held else None
        moved = held is not None and held.slices != counted.slices
        if counted.ref.kind != "inv" or (before == counted.debt and not (moved and before)):
            return []
        debt = counted.debt or before
        assert debt is not None  # one of them differs from the other, or the slices moved a debt
        currency = debt.currency
        stored = table.get(_debtor_key(scope, counted.customer, currency, ALL))
        open_ = dict(stored["inv"]) if stored else {}
        open_.pop(counted.ref.id, None)
        if counted.debt:
            open_[counted.ref.id] = [counted.debt.amount, counted.debt.due_date]
        version = int(stored["v"]) if stored else 0
        writes = []
        for slice_ in counted.slices:
            item = debtor_item(scope, counted.customer, currency, slice_, open_, version + 1)
            if slice_ == ALL:
                guard = ("v = :v", {":v": version}) if stored else ("attribute_not_exists(PK)", None)
                writes.append(table.put(item, *guard))
            else:
                writes.append(table.put(item))
        gone = set(held.slices if held else ()) - set(counted.slices)
        writes += [table.delete(_debtor_key(scope, counted.customer, currency, s)) for s in sorted(gone)]
        return writes

    # ------------------------------------------------------------------ reading
    def buckets(self, scope: Scope, report: str, currency: str, slice_: str, grouping: str = "",
                group: str | None = None, until: str = "9999") -> list[Row]:  # fmt: skip
        """The buckets of one grouping (``group``: one group's; None: totals, or every group of
        ``grouping``), dated up to ``until`` (inclusive), shards summed, in date order."""
        pk = partition(scope, report, currency, slice_, grouping)
        request: dict[str, Any] = {"TableName": table.table_name()}
        if grouping and group is None:
            request |= {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": table.encode({":pk": pk})}
        else:
            prefix = group_prefix(group)
            values = {":pk": pk, ":a": f"{prefix}#", ":b": f"{prefix}#{until}#~"}
            request |= {"KeyConditionExpression": "PK = :pk AND SK BETWEEN :a AND :b",
                        "ExpressionAttributeValues": table.encode(values)}  # fmt: skip
        summed: dict[tuple[str, str], Counters] = {}
        for item in _query(request):
            if item["d"] > until:
                continue
            counters = summed.setdefault((item.get("g", ""), item["d"]), {})
            for name, value in item.items():
                if name not in ("PK", "SK", "g", "d"):
                    counters[name] = counters.get(name, 0) + int(value)
        return [Row(g, d, c) for (g, d), c in sorted(summed.items(), key=lambda kv: (kv[0][1], kv[0][0]))]

    def debtors(self, scope: Scope, currency: str, slice_: str, limit: int) -> list[Top]:
        """The ``limit`` customers owing most on open invoices, most first (the index, then the items)."""
        request = {
            "TableName": table.table_name(), "IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :pk",
            "ExpressionAttributeValues": table.encode({":pk": f"{scope.key}#RPTD#{currency}#{slice_key(slice_)}"}),
            "ScanIndexForward": False, "Limit": limit,
        }  # fmt: skip
        entries = [table.decode(item) for item in table.client().query(**request).get("Items", [])]
        return [
            Top(item["cus"], int(item["amt"]), item.get("due"), len(item.get("inv", {})))
            for item in table.items_of(entries)
            if int(item.get("amt", 0)) > 0
        ]

    # ------------------------------------------------------------------ rebuild
    def replace(self, scope: Scope, counted: Sequence[Counted]) -> int:
        """Put every aggregate of ``scope`` as ``counted`` makes it, deleting what was there
        before; returns how many items it wrote. Reads the scope's report items with a filtered
        ``Scan`` (the rebuild is an operator's command, never a report's read)."""
        stale = {(item["PK"], item["SK"]) for item in _report_items(scope)}
        items = list(_rebuilt(scope, counted))
        for item in items:
            stale.discard((item["PK"], item["SK"]))
        _delete_all([{"PK": pk, "SK": sk} for pk, sk in sorted(stale)])
        table.batch_put(table.table_name(), items)
        return len(items)


def _rebuilt(scope: Scope, counted: Sequence[Counted]) -> Iterable[dict[str, Any]]:
    buckets: dict[tuple[str, str], dict[str, Any]] = {}
    debts: dict[tuple[str, str], dict[str, list[Any]]] = {}
    slices_of: dict[str, tuple[str, ...]] = {}
    for one in counted:
        yield _contribution_item(scope, one, 1)
        for bucket, counters in one.contribution.items():
            key = bucket_key(scope, bucket, one.ref.key)
            item = buckets.setdefault((key["PK"], key["SK"]), {**key, "g": bucket.group.partition(":")[2],
                                                                 "d": bucket.date})  # fmt: skip
            for name, value in counters.items():
                item[name] = item.get(name, 0) + value
        if one.debt:
            debts.setdefault((one.customer, one.debt.currency), {})[one.ref.id] = [one.debt.amount, one.debt.due_date]
            slices_of[one.customer] = one.slices
    yield from buckets.values()
    for (customer, currency), open_ in debts.items():
        for slice_ in slices_of[customer]:
            yield debtor_item(scope, customer, currency, slice_, open_, 1)


def _query(request: dict[str, Any], operation: str = "query") -> Iterable[dict[str, Any]]:
    """Every item of a ``Query`` (or ``Scan``), page after page."""
    while True:
        response = getattr(table.client(), operation)(**request)
        yield from (table.decode(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _report_items(scope: Scope) -> Iterable[dict[str, Any]]:
    prefixes = {":a": f"{scope.key}#RPT#", ":c": f"{scope.key}#RPTC#", ":d": f"{scope.key}#RPTD#"}
    request: dict[str, Any] = {
        "TableName": table.table_name(), "ProjectionExpression": "PK, SK",
        "FilterExpression": "begins_with(PK, :a) OR begins_with(PK, :c) OR begins_with(PK, :d)",
        "ExpressionAttributeValues": table.encode(prefixes),
    }  # fmt: skip
    return _query(request, "scan")


def _delete_all(keys: Sequence[dict[str, str]]) -> None:
    for start in range(0, len(keys), 25):
        requests = [{"DeleteRequest": {"Key": table.encode(key)}} for key in keys[start : start + 25]]
        while requests:
            response = table.client().batch_write_item(RequestItems={table.table_name(): requests})
            requests = (response.get("UnprocessedItems") or {}).get(table.table_name(), [])
