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
        done: set[tuple[str, str, str]] = set()  # an index read may lag a write: never redo an entry
        steps, dun = 0, workers.dun
        for midnight in _midnights(clock.frozen_time, target) if dun is not None else []:
            clock, steps = self._work(scope, clock, midnight, due, workers, done, steps)
            clock = self._move(scope, clock, midnight)
            if dun is not None:
                dun(scope, clock_id, datetime.fromisoformat(midnight).date())
        clock, _ = self._work(scope, clock, target, due, workers, done, steps)
        return self._move(scope, clock, target)

    def _work(
        self,
        scope: Scope,
        clock: TestClock,
        until: str,
        due: DueWork,
        workers: Workers,
        done: set[tuple[str, str, str]],
        taken: int,
    ) -> tuple[TestClock, int]:
        """Run the clock's work due by ``until``, in time order; the clock and the steps taken."""
        for steps in range(taken, MAX_STEPS):
            pending = next((entry for entry in due.due(scope, clock.id, until) if entry not in done), None)
            if pending is None:
                return clock, steps
            done.add(pending)
            due_at, kind, object_id = pending
            clock = self._move(scope, clock, max(due_at, clock.frozen_time))
            moment = datetime.fromisoformat(clock.frozen_time)
            (workers.bill if kind == "sub" else workers.finalize)(scope, object_id, moment)
        raise Conflict(
            f"Too much fell due at once; the clock stopped at {clock.frozen_time}: advance it again.",
            code="advance_incomplete",
        )

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
