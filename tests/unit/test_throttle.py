"""The local gateway's per-key throttle works as API Gateway's token bucket."""

from __future__ import annotations

from infra.local.throttle import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_its_burst_then_its_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=4, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(4)] == [True, True, True, False]
    clock.now = 0.5  # two tokens back
    assert [buckets.take("a") for _ in range(3)] == [True, True, False]


def test_an_idle_key_saves_no_more_than_its_burst() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=100, burst=2, clock=clock)
    clock.now = 3600.0
    assert [buckets.take("a") for _ in range(3)] == [True, True, False]


def test_keys_are_counted_apart() -> None:
    buckets = TokenBuckets(rate=1, burst=1, clock=Clock())
    assert (buckets.take("a"), buckets.take("a"), buckets.take("b")) == (True, False, True)
