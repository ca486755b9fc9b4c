"""Idempotency keys: replay the stored answer, refuse a reused key, release it when nothing ran."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from billing.errors import Conflict, InvalidRequest
from billing.idempotency import LEASE, RETENTION, Idempotency, StoredResponse, canonical, fingerprint
from billing.scope import Scope
from tests.unit.clock import FrozenClock
from tests.unit.fakes import MemoryIdempotency

SCOPE = Scope("ten_a", livemode=False)


class Counter:
    def __init__(self, response: StoredResponse) -> None:
        self.calls = 0
        self.response = response

    def __call__(self) -> StoredResponse:
        self.calls += 1
        return self.response


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def idem(clock: FrozenClock) -> Idempotency:
    return Idempotency(MemoryIdempotency(), clock)


def test_a_retry_replays_the_first_answer_without_running_again(idem: Idempotency) -> None:
    call = Counter(StoredResponse(201, {"id": "cus_1"}))
    first = idem.run(SCOPE, "k1", "print-a", call)
    again = idem.run(SCOPE, "k1", "print-a", call)
    assert first == again == StoredResponse(201, {"id": "cus_1"})
    assert call.calls == 1


def test_the_same_key_with_another_request_is_a_conflict(idem: Idempotency) -> None:
    idem.run(SCOPE, "k1", "print-a", Counter(StoredResponse(201, {})))
    with pytest.raises(Conflict) as refused:
        idem.run(SCOPE, "k1", "print-b", Counter(StoredResponse(201, {})))
    assert refused.value.code == "idempotency_key_reused"


def test_keys_are_per_tenant(idem: Idempotency) -> None:
    idem.run(SCOPE, "k1", "print-a", Counter(StoredResponse(201, {})))
    other = Counter(StoredResponse(201, {"other": True}))
    assert idem.run(Scope("ten_b", False), "k1", "print-b", other).body == {"other": True}


def test_bad_input_releases_the_key(idem: Idempotency) -> None:
    idem.run(SCOPE, "k1", "print-a", Counter(StoredResponse(400, {})))
    fixed = Counter(StoredResponse(201, {"ok": True}))
    assert idem.run(SCOPE, "k1", "print-b", fixed).body == {"ok": True}


def test_a_lost_race_releases_the_key(idem: Idempotency) -> None:
    idem.run(SCOPE, "k1", "print-a", Counter(StoredResponse(409, {}, retryable=True)))
    again = Counter(StoredResponse(200, {"ok": True}))
    assert idem.run(SCOPE, "k1", "print-a", again).body == {"ok": True}


def test_a_post_waiting_for_its_twin_still_running_gets_the_twins_answer(idem: Idempotency) -> None:
    started, finish = threading.Event(), threading.Event()

    def slow() -> StoredResponse:
        started.set()
        finish.wait(5)
        return StoredResponse(303, {"first": True})

    answers: list[StoredResponse] = []
    first = threading.Thread(target=lambda: answers.append(idem.run(SCOPE, "k1", "print-a", slow)))
    first.start()
    started.wait(5)
    second = Counter(StoredResponse(303, {"second": True}))
    threading.Timer(0.3, finish.set).start()  # the first finishes while the second waits
    assert idem.run_waiting(SCOPE, "k1", "print-a", second, timedelta(seconds=5)).body == {"first": True}
    first.join(5)
    assert answers == [StoredResponse(303, {"first": True})] and second.calls == 0


def test_a_post_waits_for_its_twin_only_so_long(clock: FrozenClock) -> None:
    store = MemoryIdempotency()
    idem = Idempotency(store, clock)
    store.claim(SCOPE, "k1", "print-a", clock.now(), clock.now() + LEASE)  # a twin still running
    second = Counter(StoredResponse(303, {}))
    with pytest.raises(Conflict) as refused:
        idem.run_waiting(SCOPE, "k1", "print-a", second, timedelta(seconds=0.3))
    assert refused.value.code == "idempotency_request_in_progress" and second.calls == 0


def test_a_post_whose_twin_fails_while_it_waits_runs_itself(idem: Idempotency) -> None:
    started, finish = threading.Event(), threading.Event()

    def refused() -> StoredResponse:
        started.set()
        finish.wait(5)
        raise InvalidRequest("no", param="x")  # refused: nothing done, the key is let go

    errors: list[BaseException] = []

    def post_first() -> None:
        try:
            idem.run(SCOPE, "k1", "print-a", refused)
        except InvalidRequest as error:
            errors.append(error)

    first = threading.Thread(target=post_first)
    first.start()
    started.wait(5)
    threading.Timer(0.3, finish.set).start()
    again = Counter(StoredResponse(303, {"ran": True}))
    assert idem.run_waiting(SCOPE, "k1", "print-a", again, timedelta(seconds=5)).body == {"ran": True}
    first.join(5)
    assert again.calls == 1 and len(errors) == 1


def test_a_post_whose_twin_failed_runs_itself(idem: Idempotency) -> None:
    def refused() -> StoredResponse:
        raise InvalidRequest("no", param="x")

    with pytest.raises(InvalidRequest):
        idem.run(SCOPE, "k1", "print-a", refused)
    again = Counter(StoredResponse(303, {"ran": True}))
    assert idem.run_waiting(SCOPE, "k1", "print-a", again, timedelta(seconds=1)).body == {"ran": True}


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_replayed_as_stripe_does(idem: Idempotency, status: int) -> None:
    idem.run(SCOPE, "k1", "print-a", Counter(StoredResponse(status, {"error": {}})))
    retry = Counter(StoredResponse(201, {}))
    assert idem.run(SCOPE, "k1", "print-a", retry).status == status
    assert retry.calls == 0


def test_an_exception_releases_the_key(idem: Idempotency) -> None:
    def boom() -> StoredResponse:
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        idem.run(SCOPE, "k1", "print-a", boom)
    assert idem.run(SCOPE, "k1", "print-a", Counter(StoredResponse(201, {}))).status == 201


def test_domain_refusals_are_replayed(idem: Idempotency) -> None:
    idem.run(SCOPE, "k1", "print-a", Counter(StoredResponse(409, {"error": {}})))
    call = Counter(StoredResponse(201, {}))
    assert idem.run(SCOPE, "k1", "print-a", call).status == 409
    assert call.calls == 0


def test_a_request_in_flight_blocks_its_retry_until_the_lease_lapses(clock: FrozenClock) -> None:
    store = MemoryIdempotency()
    idem = Idempotency(store, clock)
    store.claim(SCOPE, "k1", "print-a", clock.now(), clock.now() + LEASE)
    with pytest.raises(Conflict) as refused:
        idem.run(SCOPE, "k1", "print-a", Counter(StoredResponse(201, {})))
    assert refused.value.code == "idempotency_request_in_progress"
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert idem.run(SCOPE, "k1", "print-a", Counter(StoredResponse(201, {}))).status == 201


def test_answers_are_kept_for_the_retention_period(idem: Idempotency, clock: FrozenClock) -> None:
    idem.run(SCOPE, "k1", "print-a", Counter(StoredResponse(201, {"n": 1})))
    clock.advance(seconds=RETENTION.total_seconds() + 1)
    assert idem.run(SCOPE, "k1", "print-b", Counter(StoredResponse(201, {"n": 2}))).body == {"n": 2}


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_key_length_is_checked(idem: Idempotency, key: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        idem.run(SCOPE, key, "p", Counter(StoredResponse(201, {})))
    assert refused.value.param == "Idempotency-Key"


def test_fingerprint_depends_on_method_path_and_body() -> None:
    base = fingerprint("POST", "/v1/customers", b'{"a":1}')
    assert base == fingerprint("POST", "/v1/customers", b'{"a":1}')
    assert base != fingerprint("POST", "/v1/customers", b'{"a":2}')
    assert base != fingerprint("POST", "/v1/plans", b'{"a":1}')


def test_an_answer_that_cannot_be_stored_is_still_given(clock: FrozenClock) -> None:
    """The request ran (its side effects are done): a store failure must not turn it into a 500."""

    class Failing(MemoryIdempotency):
        def complete(self, scope: Scope, key: str, response: StoredResponse, expires_at: datetime) -> None:
            raise RuntimeError("item too large")

    idem = Idempotency(Failing(), clock)
    assert idem.run(SCOPE, "k1", "print-a", Counter(StoredResponse(200, {"accepted": 1}))).body == {"accepted": 1}
    with pytest.raises(Conflict) as refused:  # the claim stands until its lease lapses
        idem.run(SCOPE, "k1", "print-a", Counter(StoredResponse(200, {})))
    assert refused.value.code == "idempotency_request_in_progress"


def test_canonical_bodies_ignore_key_order_and_spacing_but_not_digits() -> None:
    def print_of(text: str) -> str:
        return fingerprint("POST", "/v1/events", canonical(json.loads(text, parse_float=Decimal)))

    assert print_of('{"a": 0.1, "b": [1, "x"]}') == print_of('{"b":[1,"x"],"a":0.10}')
    assert print_of('{"a": 100}') == print_of('{"a": 1E2}') == print_of('{"a": 100.0}')
    assert print_of('{"a": 0.1}') != print_of('{"a": 0.10000000000000001}')  # one float, two numbers
    assert print_of('{"a": 1.0000000000000000000000000000001}') != print_of('{"a": 1}')  # beyond 28 digits
    assert print_of('{"a": "0.1"}') != print_of('{"a": 0.1}')
    assert print_of('{"a": true}') != print_of('{"a": 1}')
    assert print_of('{"a": 0}') == print_of('{"a": -0.0}')
