"""Tariff migrations: moving every subscription of a plan to its new version, with notice.

``request`` checks the migration and records ``PlanMigrationRequested``, which the bus routes
to the migration worker's queue as its first page; the worker calls ``migrate`` once per page
of the plan's subscriptions, which queues the next page (fanned out through the queue, never
one long loop). Each subscription on an older version gets a ``tariff_change`` pending change
at ``effective_date`` and a ``TariffChangeScheduled`` event (the notice to the customer).
Re-running a page changes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from billing.catalog.lookups import CatalogLookups
from billing.catalog.resource import require_current
from billing.clock import Clock, SystemClock, to_wire
from billing.errors import DomainRuleViolation
from billing.events import DomainEvent, EventRecorder
from billing.ids import new_id
from billing.pagination import PageRequest
from billing.scope import Scope
from billing.subscriptions.model import Migrate
from billing.subscriptions.service import SubscriptionQuery, SubscriptionService

PAGE_SIZE = 100


@dataclass(frozen=True)
class PlanMigration:
    """A requested migration, as its ``PlanMigrationRequested`` event carries it."""

    id: str
    plan: str
    plan_code: str
    effective_date: str
    created_at: str

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "plan_migration",
            "plan": self.plan,
            "plan_code": self.plan_code,
            "effective_date": self.effective_date,
            "status": "scheduled",
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class PageResult:
    scheduled: int
    next_cursor: str | None


@dataclass(frozen=True)
class MigrationPage:
    """One page of a migration's subscriptions, as the worker's queue carries it: the page
    after the subscription ``cursor`` (None: the first page)."""

    scope: Scope
    migration_id: str
    plan_id: str
    effective_date: str
    cursor: str | None = None


class PageQueue(Protocol):
    """The migration worker's queue: every page sent comes back to ``PlanMigrations.migrate``."""

    def send(self, page: MigrationPage) -> None: ...


class PlanMigrations:
    def __init__(
        self,
        subscriptions: SubscriptionService,
        catalog: CatalogLookups,
        events: EventRecorder,
        pages: PageQueue,
        clock: Clock | None = None,
    ):
        self._subscriptions = subscriptions
        self._catalog = catalog
        self._events = events
        self._pages = pages
        self._clock = clock or SystemClock()

    def request(self, scope: Scope, plan_id: str, data: Migrate) -> PlanMigration:
        plan = self._catalog.plan(scope, plan_id, fresh=True)
        require_current(plan)
        now = self._clock.now()
        if datetime.fromisoformat(data.effective_date) <= now:
            raise DomainRuleViolation(
                "effective_date must be in the future, so customers get notice.",
                code="effective_date_not_in_future",
                param="effective_date",
            )
        migration = PlanMigration(
            id=new_id("mig", int(now.timestamp() * 1000)),
            plan=plan.id,
            plan_code=plan.code,
            effective_date=data.effective_date,
            created_at=to_wire(now),
        )
        event = DomainEvent(type="PlanMigrationRequested", scope=scope, occurred_at=now, data=migration.to_public())
        self._events.record(event)
        return migration

    def migrate_page(self, scope: Scope, plan_id: str, effective_date: str, cursor: str | None) -> PageResult:
        """Schedule one page; a migration whose plan was superseded since stops (the newer
        version's own migration takes over)."""
        plan = self._catalog.plan(scope, plan_id, fresh=True)  # superseded since?
        if plan.status == "superseded":
            return PageResult(scheduled=0, next_cursor=None)
        query = SubscriptionQuery(plan_code=plan.code, page=PageRequest(PAGE_SIZE, cursor))
        page = self._subscriptions.list(scope, query)
        scheduled = sum(
            self._subscriptions.schedule_tariff_change(scope, subscription.id, plan, effective_date)
            for subscription in page.data
        )
        next_cursor = page.data[-1].id if page.has_more and page.data else None
        return PageResult(scheduled=scheduled, next_cursor=next_cursor)

    def migrate(self, page: MigrationPage) -> PageResult:
        """Schedule one page and queue the next one, if any: each page is a short invocation of
        the worker. A page run twice queues its next page twice, which schedules nothing twice."""
        result = self.migrate_page(page.scope, page.plan_id, page.effective_date, page.cursor)
        if result.next_cursor:
            self._pages.send(replace(page, cursor=result.next_cursor))
        return result
