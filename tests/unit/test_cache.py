"""The hot-path lookup cache: found values kept for their time, misses asked again, and one
load for requests that miss the same key together."""

from __future__ import annotations

import threading

from billing.cache import TtlCache


def test_found_values_are_kept_and_misses_asked_again() -> None:
    cache: TtlCache[str] = TtlCache(ttl_s=60)
    loads: list[str] = []

    def load(value: str | None) -> str | None:
        loads.append(str(value))
        return value

    assert cache.get("a", lambda: load("A")) == "A"
    assert cache.get("a", lambda: load("other")) == "A"
    assert cache.get("b", lambda: load(None)) is None
    assert cache.get("b", lambda: load("B")) == "B"
    assert cache.get("a", lambda: load("A2"), fresh=True) == "A2"
    assert loads == ["A", "None", "B", "A2"]
    expired: TtlCache[str] = TtlCache(ttl_s=0)
    assert expired.get("a", lambda: "A") == "A" and expired.get("a", lambda: "A2") == "A2"


def test_requests_missing_a_key_together_share_one_load() -> None:
    cache: TtlCache[str] = TtlCache(ttl_s=60)
    loading, release = threading.Event(), threading.Event()
    loads: list[str] = []

    def first() -> str:
        loads.append("first")
        loading.set()
        release.wait(timeout=30)
        return "value"

    def other() -> str:
        loads.append("other")
        release.set()  # never hold the first load up once a second one has begun
        return "other value"

    answers: list[str | None] = []
    threads = [threading.Thread(target=lambda: answers.append(cache.get("k", first)))]
    threads[0].start()
    assert loading.wait(timeout=30)
    threads += [threading.Thread(target=lambda: answers.append(cache.get("k", other))) for _ in range(3)]
    for thread in threads[1:]:
        thread.start()
    for thread in threads[1:]:
        thread.join(timeout=0.2)  # give them time to reach the cache while the first load runs
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert loads == ["first"]
    assert answers == ["value"] * 4
