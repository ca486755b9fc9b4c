"""Test clocks: time-driven behaviour made testable through the API, as Stripe's test clocks.

A test clock exists in test mode only and holds a ``frozen_time``. Customers created with
``"test_clock": "<id>"`` live on that clock: their subscriptions start, change, and take
usage at the clock's time, and nothing time-driven happens to them until the clock is
advanced. ``advance(to)`` then runs, in time order, everything that became due in between
for the clock's customers (billing steps: period ends, trial ends, renewals; drafts
finalized after the grace period), moving the clock to each moment as it goes. With a dunning
policy, each midnight crossed runs dunning for the clock's open invoices as of that day
(``billing.collections.dunning``), after the work due before it. Live-mode
data never sees a clock; the hourly runs never see clock customers (their due work is
indexed under the clock).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from billing.clock import Clock, SystemClock, to_wire
from billing.errors import Conflict, DomainRuleViolation
from billing.ids import found, new_id
from billing.scope import Scope
from billing.validation import Input, Timestamp

MAX_ADVANCE = timedelta(days=2 * 366)
MAX_STEPS = 5000


class TestClockCreate(Input):
    frozen_time: Timestamp
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class Advance(Input):
    to: Timestamp


class TestClock(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    object: Literal["test_clock"] = "test_clock"
    livemode: Literal[False] = False
    name: str | None = None
    frozen_time: str
    status: Literal["ready"] = "ready"
    created_at: str
    revision: int = Field(default=1, exclude=True)

    def to_public(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class TestClockStore(Protocol):
    def create(self, scope: Scope, clock: TestClock) -> None: ...

    def get(self, scope: Scope, clock_id: str) -> TestClock | None: ...

    def save(self, scope: Scope, clock: TestClock, revision: int) -> None:
        """``Conflict`` when the clock changed since ``revision`` (two advances racing)."""


class DueWork(Protocol):
    def due(self, scope: Scope, clock_id: str, until: str) -> Iterable[tuple[str, str, str]]:
        """``(due_at, kind, id)`` of the clock's due work by ``until``, oldest first."""


@dataclass(frozen=True)
class Workers:
    """What advancing a clock runs, per kind of due work: ``sub`` bills a subscription up
    to a moment, ``inv`` finalizes a draft whose grace period ended by then."""

    bill: Callable[[Scope, str, datetime], object]
    finalize: Callable[[Scope, str, datetime], object]
    dun: Callable[[Scope, str, date], object] | None = None  # a clock's dunning run as of a day


class TestClocks:
    __test__ = False  # not a pytest test class

    def __init__(self, store: TestClockStore, clock: Clock | None = None):
        self._store = store
        self._clock = clock or SystemClock()

    def create(self, scope: Scope, data: TestClockCreate) -> TestClock:
        self._test_mode(scope)
        now = self._clock.now()
        clock = TestClock(id=new_id("clock", int(now.timestamp() * 1000)), name=data.name,
                          frozen_time=data.frozen_time, created_at=to_wire(now))  # fmt: skip
        self._store.create(scope, clock)
        return clock

    def get(self, scope: Scope, clock_id: str) -> TestClock:
        self._test_mode(scope)
        return found(lambda object_id: self._store.get(scope, object_id), clock_id, "clock", "test clock")

    def time_of(self, scope: Scope, clock_id: str) -> datetime:
        return datetime.fromisoformat(self.get(scope, clock_id).frozen_time)

    def advance(self, scope: Scope, clock_id: str, request: Advance, due: DueWork, workers: Workers) -> TestClock:
        clock = self.get(scope, clock_id)
        target = request.to
        if target <= clock.frozen_time:
            raise DomainRuleViolation(
                "to must be later than the clock's frozen_time.", code="clock_not_forward", param="to"
            )
        if datetime.fromisoformat(target) - datetime.fromisoformat(clock.frozen_time) > MAX_ADVANCE:
            raise DomainRuleViolation("A clock moves at most two years at a time.", code="advance_too_far", param="to")
        work = _Work(due, workers, target, partial(self._move, scope))
        if workers.dun is not None:
            for midnight in _midnights(clock.frozen_time, target):
                clock = work.run(scope, clock, midnight)
                workers.dun(scope, clock_id, datetime.fromisoformat(midnight).date())
        clock = work.run(scope, clock, target)
        return self._move(scope, clock, target)

    def _move(self, scope: Scope, clock: TestClock, to: str) -> TestClock:
        if to == clock.frozen_time:
            return clock
        moved = clock.model_copy(update={"frozen_time": to, "revision": clock.revision + 1})
        self._store.save(scope, moved, clock.revision)
        return moved

    @staticmethod
    def _test_mode(scope: Scope) -> None:
        if scope.livemode:
            raise DomainRuleViolation("Test clocks exist in test mode only.", code="test_mode_only")


class _Work:
    """The clock's due work of one advance, run in time order up to a moment at a time. It
    remembers the next entry due after that moment, so the days before it are not asked for
    again (only the work it runs makes new entries)."""

    def __init__(self, due: DueWork, workers: Workers, target: str, move: Callable[[TestClock, str], TestClock]):
        self._due, self._workers, self._target, self._move = due, workers, target, move
        self._done: set[tuple[str, str, str]] = set()  # an index read may lag a write: never redo an entry
        self._next: str | None = ""  # the next entry's time once known ("" unknown, None nothing by target)
        self._steps = 0

    def run(self, scope: Scope, clock: TestClock, until: str) -> TestClock:
        while self._next is not None and (self._next == "" or self._next <= until):
            if self._steps >= MAX_STEPS:
                raise Conflict(
                    f"Too much fell due at once; the clock stopped at {clock.frozen_time}: advance it again.",
                    code="advance_incomplete",
                )
            pending = next((e for e in self._due.due(scope, clock.id, self._target) if e not in self._done), None)
            self._next = pending[0] if pending else None
            if pending is None or pending[0] > until:
                break
            self._done.add(pending)
            self._steps += 1
            self._next = ""  # the work may make new entries
            due_at, kind, object_id = pending
            clock = self._move(clock, max(due_at, clock.frozen_time))
            moment = datetime.fromisoformat(clock.frozen_time)
            (self._workers.bill if kind == "sub" else self._workers.finalize)(scope, object_id, moment)
        return clock


def _midnights(after: str, until: str) -> list[str]:
    """The midnights (UTC) in ``(after, until]``, as wire timestamps."""
    start = datetime.fromisoformat(after).astimezone(UTC)
    day = datetime.combine(start.date() + timedelta(days=1), time(), UTC)
    end = datetime.fromisoformat(until).astimezone(UTC)
    found = []
    while day <= end:
        found.append(to_wire(day))
        day += timedelta(days=1)
    return found


class ClockTimes(Protocol):
    def time_of(self, scope: Scope, clock_id: str) -> datetime: ...


def now_for(clock: Clock, times: ClockTimes | None, scope: Scope, clock_id: str | None) -> datetime:
    """The time of an object on ``clock_id`` (its test clock's), or the wall clock's."""
    if clock_id and times is not None:
        return times.time_of(scope, clock_id)
    return clock.now()
