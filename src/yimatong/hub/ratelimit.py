"""A token bucket per key, for public routes (the hub's conversion is one).

Time comes from the clock it is given, so tests are exact and the hub's clock is the one that
counts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

__all__ = ["RateLimiter"]


class RateLimiter:
    """A token bucket per key (the client address): ``rate`` per second, ``burst`` at once.

    Time comes from ``clock`` so tests are exact. The table of buckets is bounded: when it
    grows past ``max_keys`` it is cleared, which errs on the side of letting callers through.
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        clock: Callable[[], datetime],
        max_keys: int = 10_000,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, datetime]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0.0 if a token was taken, else the seconds until one will be available."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            elapsed = max(0.0, (now - last).total_seconds())
            tokens = min(float(self.burst), tokens + elapsed * self.rate)
            if tokens >= 1.0:
                if len(self._buckets) >= self.max_keys and key not in self._buckets:
                    self._buckets.clear()
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
