"""Invoice runs: bill every subscription due by a moment, fanned out through a queue.

A run is started by the hourly schedule (one run per tenant and mode), by
``POST /v1/invoice_runs`` or by ``billing invoices run``. It never loops over customers in
one function: it enqueues one *scan* message per shard of the due index; a scan reads one
page of what is due and enqueues it as *bill* messages of ``BILL_BATCH`` items, plus the
next page; a bill message applies the due billing steps of its subscriptions and finalizes
the drafts whose grace period is over (with no grace period, in the write of their step).

Exactly-once accounting under at-least-once delivery: every message has an id; before it
enqueues children, a message records (once, with a marker) how many it adds to the run's
``pending`` count, and when done it records (once, with another marker) its own end and its
counts. The run is ``completed`` when ``pending`` reaches zero. A scan that is retried sends
the children it recorded the first time, not a page read anew. The work itself is
idempotent (``SubscriptionBiller``), so a message processed twice bills nothing twice; its
counts are those of the attempt that completed (drafts written by an attempt that crashed
are not counted again). A subscription that cannot be billed (a rule refuses it, or its
prices cannot be rated) counts as ``failed``, with its reason in ``failures``, and the message
goes on with the others; a run whose first messages cannot be sent is ``failed``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from billing.clock import Clock, SystemClock, to_wire
from billing.customers import Customer
from billing.errors import BillingError, DomainRuleViolation
from billing.ids import found, new_id
from billing.invoicing.biller import SubscriptionBiller
from billing.invoicing.service import InvoiceService
from billing.scope import Scope
from billing.validation import Input, Timestamp

logger = logging.getLogger(__name__)

SCAN_PAGE = 100
BILL_BATCH = 25
COUNTS = ("subscriptions", "skipped", "invoices_created", "invoices_finalized", "failed")


class Filters(Input):
    region: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    supplier: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    tag: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class RunRequest(Input):
    as_of: Timestamp | None = None
    filters: Filters = Filters()


class Failure(BaseModel):
    """A subscription (or draft) the run could not bill, and why."""

    model_config = ConfigDict(defer_build=True)

    id: str
    code: str
    message: str


MAX_FAILURES = 100
"""Failures kept on a run (the first ones); ``counts.failed`` counts them all."""


class InvoiceRun(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    object: Literal["invoice_run"] = "invoice_run"
    livemode: bool
    status: Literal["running", "completed", "failed"] = "running"
    trigger: Literal["api", "schedule", "cli"]
    as_of: str
    filters: dict[str, str] = {}
    created_at: str
    completed_at: str | None = None
    counts: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    progress: dict[str, int] = Field(default_factory=lambda: {"messages_done": 0, "messages_total": 0})
    failures: list[Failure] = []
    pending: int = Field(default=0, exclude=True)

    def to_public(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class RunStore(Protocol):
    def create(self, scope: Scope, run: InvoiceRun) -> None: ...

    def get(self, scope: Scope, run_id: str) -> InvoiceRun | None: ...

    def spawn(self, scope: Scope, run_id: str, message_id: str, children: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Record the message's children and add them to ``pending``, once per message; return
        the children recorded first (a retry sends those again, not a page read anew)."""

    def abandon(self, scope: Scope, run_id: str, at: str) -> None:
        """End a run whose first messages could not be sent."""

    def finish(
        self,
        scope: Scope,
        run_id: str,
        message_id: str,
        counts: dict[str, int],
        at: str,
        failures: Sequence[Failure] = (),
    ) -> None:
        """Take one off ``pending`` and add ``counts`` (and ``failures``, while the run keeps
        fewer than ``MAX_FAILURES``), once per message; complete the run at zero."""


class DueIndex(Protocol):
    def partitions(self, scope: Scope) -> list[str]: ...

    def page(
        self, partition: str, as_of: str, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[tuple[str, str, str]], dict[str, Any] | None]: ...


class RunQueue(Protocol):
    """The invoice run queue: every message sent comes back to ``InvoiceRuns.handle`` (at least
    once, in any order), in the invoice run worker."""

    def send(self, messages: Sequence[dict[str, Any]]) -> None: ...


@dataclass(frozen=True)
class RunMessage:
    id: str
    run: str
    tenant_id: str
    livemode: bool
    as_of: str
    kind: Literal["scan", "bill"]
    filters: dict[str, str]
    partition: str | None = None
    start: dict[str, Any] | None = None
    items: tuple[tuple[str, str], ...] = ()  # (kind, id): "sub" or "inv"

    @property
    def scope(self) -> Scope:
        return Scope(self.tenant_id, self.livemode)

    def to_body(self) -> dict[str, Any]:
        body = vars(self).copy()
        body["items"] = [list(item) for item in self.items]
        return body

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> RunMessage:
        return cls(**{**body, "items": tuple(tuple(item) for item in body.get("items", []))})


class InvoiceRuns:
    def __init__(
        self,
        store: RunStore,
        due: DueIndex,
        queue: RunQueue,
        biller: SubscriptionBiller,
        invoices: InvoiceService,
        clock: Clock | None = None,
    ):
        self._store, self._due, self._queue = store, due, queue
        self._biller, self._invoices = biller, invoices
        self._clock = clock or SystemClock()

    def start(self, scope: Scope, data: RunRequest, trigger: str = "api") -> InvoiceRun:
        now = self._clock.now()
        as_of = data.as_of or to_wire(now)
        if as_of > to_wire(now):
            raise DomainRuleViolation("as_of cannot be in the future.", code="as_of_in_future", param="as_of")
        filters = data.filters.model_dump(exclude_none=True)
        run = InvoiceRun(
            id=new_id("run", int(now.timestamp() * 1000)),
            livemode=scope.livemode,
            trigger=trigger,  # type: ignore[arg-type]
            as_of=as_of,
            filters=filters,
            created_at=to_wire(now),
        )
        partitions = self._due.partitions(scope)
        run.pending = len(partitions)
        self._store.create(scope, run)
        scans = [
            RunMessage(f"{run.id}/{n}", run.id, scope.tenant_id, scope.livemode, as_of, "scan", filters, p).to_body()
            for n, p in enumerate(partitions)
        ]
        try:
            self._queue.send(scans)
        except Exception:
            self._store.abandon(scope, run.id, to_wire(self._clock.now()))  # never a run stuck as running
            raise
        return run

    def get(self, scope: Scope, run_id: str) -> InvoiceRun:
        return found(lambda object_id: self._store.get(scope, object_id), run_id, "run", "invoice run")

    # ------------------------------------------------------------------ worker
    def handle(self, body: dict[str, Any]) -> None:
        message = RunMessage.from_body(body)
        if message.kind == "scan":
            self._scan(message)
        else:
            self._bill(message)

    def _scan(self, message: RunMessage) -> None:
        assert message.partition
        found, after = self._due.page(message.partition, message.as_of, message.start, SCAN_PAGE)
        items = [(kind, object_id) for _, kind, object_id in found]
        children = [
            RunMessage(
                f"{message.id}/b{n}",
                message.run,
                message.tenant_id,
                message.livemode,
                message.as_of,
                "bill",
                message.filters,
                items=tuple(items[n : n + BILL_BATCH]),
            )
            for n in range(0, len(items), BILL_BATCH)
        ]
        if after:
            children.append(
                RunMessage(
                    f"{message.id}/next",
                    message.run,
                    message.tenant_id,
                    message.livemode,
                    message.as_of,
                    "scan",
                    message.filters,
                    message.partition,
                    after,
                )
            )
        bodies = self._store.spawn(message.scope, message.run, message.id, [child.to_body() for child in children])
        if bodies:
            self._queue.send(bodies)
        self._store.finish(message.scope, message.run, message.id, {}, to_wire(self._clock.now()))

    def _bill(self, message: RunMessage) -> None:
        counts, failures = dict.fromkeys(COUNTS, 0), []
        as_of = datetime.fromisoformat(message.as_of)
        for kind, object_id in message.items:
            try:
                self._bill_one(message, kind, object_id, as_of, counts)
            except (BillingError, ArithmeticError, ValueError) as refused:  # the others are still billed
                if isinstance(refused, BillingError) and refused.retryable:
                    raise  # a race (the credit or the subscription changed): the message comes back
                code = refused.code if isinstance(refused, BillingError) else "cannot_be_rated"
                logger.warning("%s %s not billed: %s (%s)", kind, object_id, code, refused)
                counts["failed"] += 1
                failures.append(Failure(id=object_id, code=code, message=str(refused)[:500]))
        self._store.finish(message.scope, message.run, message.id, counts, to_wire(self._clock.now()), failures)

    def _bill_one(
        self, message: RunMessage, kind: str, object_id: str, as_of: datetime, counts: dict[str, int]
    ) -> None:
        scope = message.scope
        if kind == "inv":
            counts["invoices_finalized"] += bool(self._invoices.finalize_if_due(scope, object_id, as_of))
            return
        counts["subscriptions"] += 1
        subscription = self._biller.subscription(scope, object_id)
        if subscription is None or not self._selected(scope, subscription.customer, subscription.plan, message.filters):
            counts["skipped"] += 1
            return
        written = self._biller.bill(scope, object_id, as_of, subscription)
        counts["invoices_created"] += len(written)
        for invoice in written:  # drafts due at once were finalized in the write of their step
            finalized = invoice.status != "draft" or self._invoices.finalize_if_due(scope, invoice.id, as_of)
            counts["invoices_finalized"] += bool(finalized)

    def _selected(self, scope: Scope, customer_id: str, plan_id: str, filters: dict[str, str]) -> bool:
        if not filters:
            return True
        customer: Customer = self._biller.customer(scope, customer_id)
        if "region" in filters and (customer.address or {}).get("region") != filters["region"]:
            return False
        if "tag" in filters and filters["tag"] not in customer.tags:
            return False
        if "supplier" in filters:
            plan = self._biller.plan(scope, plan_id)
            if filters["supplier"] not in {charge.supplier for charge in plan.charges}:
                return False
        return True
