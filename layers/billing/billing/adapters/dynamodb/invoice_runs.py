"""Invoice runs in the billing table.

- run: ``PK={scope}#RUN#{id}``, ``SK=RUN``: the run in its own shape (``RUN``: trigger,
  moment, filters, ...), ``status``, ``pending`` messages, ``spawned`` and ``done`` ones, one
  ``c_{name}`` counter per count, ``completed_at``, ``failures`` (``FAILURE`` each).
- message marker: ``PK={scope}#RUNMSG#{run}#{message}#{spawn|done}``, ``SK=M``: written in
  the transaction that counts the message, so a message redelivered counts once
  (``expires_at`` a week later); a scan's ``spawn`` marker keeps the children it sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from billing.adapters.dynamodb import table
from billing.adapters.dynamodb.shapes import Shape
from billing.errors import Conflict
from billing.invoicing.runs import COUNTS, MAX_FAILURES, Failure, InvoiceRun
from billing.scope import Scope

MARKER_TTL_S = 7 * 24 * 3600


def _key(scope: Scope, run_id: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#RUN#{run_id}", "SK": "RUN"}


def _marker_key(scope: Scope, run_id: str, message_id: str, phase: str) -> dict[str, str]:
    return {"PK": f"{scope.key}#RUNMSG#{run_id}#{message_id}#{phase}", "SK": "M"}


RUN = Shape(
    InvoiceRun,
    {"id": "id", "livemode": "livemode", "trigger": "trigger", "as_of": "as_of", "filters": "filters",
     "created_at": "created_at"},
)  # fmt: skip
"""The run as stored; its status, counts, progress and failures are attributes of their own,
which messages update in place."""
FAILURE = Shape(Failure, {"id": "id", "code": "code", "message": "message"})


def to_item(scope: Scope, run: InvoiceRun) -> dict[str, Any]:
    """A new run: nothing counted yet, ``pending`` its first messages."""
    return {
        **_key(scope, run.id),
        "entity": "invoice_run",
        "status": run.status,
        "pending": run.pending,
        "spawned": run.pending,
        "done": 0,
        **{f"c_{name}": 0 for name in COUNTS},
        **RUN.dump(run),
    }


def from_item(item: Mapping[str, Any]) -> InvoiceRun:
    own: Mapping[str, Any] = item
    if "data" in item:
        # Written before runs had a shape of their own (up to 0.x): the API's JSON in ``data``,
        # read leniently (only the names ``RUN`` stores).
        own = json.loads(item["data"])
    return RUN.load(
        own,
        status=item["status"],
        completed_at=item.get("completed_at"),
        failures=[FAILURE.load(failure) for failure in item.get("failures", [])[:MAX_FAILURES]],
        counts={name: int(item.get(f"c_{name}", 0)) for name in COUNTS},
        progress={"messages_done": int(item.get("done", 0)), "messages_total": int(item.get("spawned", 0))},
        pending=int(item["pending"]),
    )


class _Counted(Exception):
    pass


class DynamoRunStore:
    def create(self, scope: Scope, run: InvoiceRun) -> None:
        with table.condition_as(Conflict(f"Run {run.id} exists.")):
            table.client().put_item(
                TableName=table.table_name(),
                Item=table.encode(to_item(scope, run)),
                ConditionExpression="attribute_not_exists(PK)",
            )

    def get(self, scope: Scope, run_id: str) -> InvoiceRun | None:
        item = table.get(_key(scope, run_id))
        return from_item(item) if item else None

    def spawn(self, scope: Scope, run_id: str, message_id: str, children: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not children:
            return []
        recorded = {"children": json.dumps(children, separators=(",", ":"))}
        expression, values = "ADD pending :n, spawned :n", {":n": len(children)}
        if self._count(scope, run_id, message_id, "spawn", expression, values, recorded):
            return children
        marker = table.get(_marker_key(scope, run_id, message_id, "spawn"))
        return list(json.loads(marker["children"])) if marker and "children" in marker else []

    def abandon(self, scope: Scope, run_id: str, at: str) -> None:
        table.client().update_item(
            TableName=table.table_name(),
            Key=table.encode(_key(scope, run_id)),
            UpdateExpression="SET #status = :failed, completed_at = :at, pending = :zero",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=table.encode({":failed": "failed", ":at": at, ":zero": 0}),
        )

    def finish(
        self,
        scope: Scope,
        run_id: str,
        message_id: str,
        counts: dict[str, int],
        at: str,
        failures: Sequence[Failure] = (),
    ) -> None:
        adds = ", ".join(["pending :minus", "done :one", *(f"c_{name} :{name}" for name in counts)])
        values = {":minus": -1, ":one": 1, **{f":{name}": value for name, value in counts.items()}}
        if self._count(scope, run_id, message_id, "done", f"ADD {adds}", values) and failures:
            self._keep(scope, run_id, failures)
        try:
            table.client().update_item(
                TableName=table.table_name(),
                Key=table.encode(_key(scope, run_id)),
                UpdateExpression="SET #status = :completed, completed_at = :at",
                ConditionExpression="#status = :running AND pending <= :zero",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=table.encode(
                    {":completed": "completed", ":running": "running", ":zero": 0, ":at": at}
                ),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def _keep(self, scope: Scope, run_id: str, failures: Sequence[Failure]) -> None:
        """Add failures to the run's list while it holds fewer than ``MAX_FAILURES``."""
        try:
            table.client().update_item(
                TableName=table.table_name(),
                Key=table.encode(_key(scope, run_id)),
                UpdateExpression="SET failures = list_append(if_not_exists(failures, :none), :new)",
                ConditionExpression="attribute_not_exists(failures) OR size(failures) < :cap",
                ExpressionAttributeValues=table.encode(
                    {":none": [], ":new": [FAILURE.dump(failure) for failure in failures], ":cap": MAX_FAILURES}
                ),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def _count(
        self,
        scope: Scope,
        run_id: str,
        message_id: str,
        phase: str,
        expression: str,
        values: dict[str, Any],
        recorded: dict[str, Any] | None = None,
    ) -> bool:
        """Apply ``expression`` to the run once per message and phase; False if done before."""
        update = {
            "Update": {
                "TableName": table.table_name(),
                "Key": table.encode(_key(scope, run_id)),
                "UpdateExpression": expression,
                "ExpressionAttributeValues": table.encode(values),
            }
        }
        expires = int(time.time()) + MARKER_TTL_S
        marker = {**_marker_key(scope, run_id, message_id, phase), **(recorded or {}), "expires_at": expires}
        try:
            table.transact([table.put(marker, "attribute_not_exists(PK)"), update], {0: _Counted()})
        except _Counted:
            return False  # a redelivered message: counted already
        return True
