"""At most so many events a minute per client address: joins, and wrong class codes.

The gate asks ``wait`` before it lets an event through and ``record`` s the ones that count.
Addresses are the connection's (behind a reverse proxy every student has the proxy's: raise
the limits there, see SECURITY.md). Memory is bounded: old addresses are forgotten.
"""

from __future__ import annotations

import collections
import threading
import time

MAX_ADDRESSES = 10_000


class RateLimiter:
    """A sliding window of ``limit`` events per ``window_s`` seconds for each key."""

    def __init__(self, limit: int, window_s: float = 60.0, clock=time.monotonic) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self.events: dict[str, collections.deque] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may have another event (0: now)."""
        with self._lock:
            events = self._recent(key)
            if len(events) < self.limit:
                return 0.0
            return max(0.0, events[0] + self.window_s - self.clock())

    def record(self, key: str) -> None:
        with self._lock:
            if key not in self.events and len(self.events) >= MAX_ADDRESSES:
                self._forget_idle()
            self._recent(key).append(self.clock())

    def _recent(self, key: str) -> collections.deque:
        events = self.events.setdefault(key, collections.deque())
        horizon = self.clock() - self.window_s
        while events and events[0] <= horizon:
            events.popleft()
        return events

    def _forget_idle(self) -> None:
        for key in [k for k in self.events if not self._recent(k)]:
            del self.events[key]
        while len(self.events) >= MAX_ADDRESSES:  # all busy: drop the oldest first
            del self.events[next(iter(self.events))]
