"""API Gateway's request throttle, per key: a token bucket.

Each key has a bucket of ``burst`` tokens, refilled at ``rate`` tokens a second; a request
takes a token or, when none is left, is throttled (API Gateway answers 429, THROTTLED).
The local gateway keeps one bucket per usage plan key, as a usage plan's throttle does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBuckets:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)

    def take(self, key: str) -> bool:
        """Whether ``key`` may send a request now (and count it)."""
        with self._lock:
            now = self._clock()
            tokens, counted = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - counted) * self.rate)
            allowed = tokens >= 1
            self._buckets[key] = (tokens - 1 if allowed else tokens, now)
            return allowed
