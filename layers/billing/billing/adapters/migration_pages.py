"""The plan migration queue's messages: the ``PlanMigrationRequested`` event the bus routes to
it (the first page), and the pages the worker queues after it, in the same shape plus a
``cursor``."""

from __future__ import annotations

import json
from typing import Any

from billing.adapters.queues import SqsQueue
from billing.scope import Scope
from billing.subscriptions.migrations import MigrationPage


def parse(body: str) -> MigrationPage:
    """The page a queue message asks for."""
    detail = json.loads(body)["detail"]
    migration = detail["data"]
    return MigrationPage(
        scope=Scope(detail["tenant_id"], livemode=bool(detail["livemode"])),
        migration_id=migration["id"],
        plan_id=migration["plan"],
        effective_date=migration["effective_date"],
        cursor=detail.get("cursor"),
    )


def message(page: MigrationPage) -> dict[str, Any]:
    migration = {"id": page.migration_id, "plan": page.plan_id, "effective_date": page.effective_date}
    detail = {"tenant_id": page.scope.tenant_id, "livemode": page.scope.livemode, "data": migration}
    return {"detail-type": "PlanMigrationPage", "detail": detail | {"cursor": page.cursor}}


class SqsMigrationPages:
    def __init__(self, queue: SqsQueue):
        self._queue = queue

    def send(self, page: MigrationPage) -> None:
        self._queue.send([message(page)])
