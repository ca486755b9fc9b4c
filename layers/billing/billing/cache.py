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
    def __init__(self, ttl_s: float, max_entries: int = 10_000):
        self._ttl, self._max = ttl_s, max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], V | None], fresh: bool = False) -> V | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0] > now and not fresh:
            return entry[1]
        value = load()
        if value is not None:
            with self._lock:
                if len(self._entries) >= self._max:
                    self._entries.clear()
                self._entries[key] = (now + self._ttl, value)
        return value
