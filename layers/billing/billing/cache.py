"""A small time-bounded cache for lookups on hot paths (one per Lambda container).

Only found values are kept: a miss is always asked again, so something created a moment
ago is seen at once; what changes is seen within ``ttl_s``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

LOOKUP_TTL_S = 10.0
"""How long hot-path lookups (customers, subscriptions, catalog, tenant settings) are cached."""


class TtlCache(Generic[V]):
    """Concurrent requests missing the same key wait for one load and share its value (a
    container's request threads would otherwise each read what expired at the same moment); a
    ``fresh`` read always loads."""

    def __init__(self, ttl_s: float, max_entries: int = 10_000):
        self._ttl, self._max = ttl_s, max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._loading: dict[Hashable, threading.Lock] = {}  # a gate per key: one load at a time
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], V | None], fresh: bool = False) -> V | None:
        if fresh:
            return self._load(key, load)
        if (found := self._cached(key)) is not None:
            return found
        with self._lock:
            if len(self._loading) >= self._max:  # misses leave gates too: bounded as the entries
                self._loading.clear()
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:  # another request may have loaded it meanwhile
            found = self._cached(key)
            return found if found is not None else self._load(key, load)

    def _cached(self, key: Hashable) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None

    def _load(self, key: Hashable, load: Callable[[], V | None]) -> V | None:
        now = time.monotonic()
        value = load()
        if value is not None:
            with self._lock:
                if len(self._entries) >= self._max:
                    self._entries.clear()
                self._entries[key] = (now + self._ttl, value)
        return value

    def forget(self, key: Hashable) -> None:
        """Drop ``key``: what this container just changed or removed is read again at once."""
        with self._lock:
            self._entries.pop(key, None)
