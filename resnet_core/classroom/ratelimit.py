"""At most so many events a minute per client address: joins, and wrong class codes.

The gate ``take`` s a slot before it reads a request's body: the check and the count are one
step under one lock, so a burst of requests sent at once cannot all pass a check none of them
has counted yet (300 joins did, when the count came after the answer). A slot reserved for
what may not happen (a wrong code) is given back when it did not. Addresses are keyed by
``address_key`` (an IPv6 client by its /64, which one machine picks from freely). Behind a
reverse proxy every student has the proxy's address: raise the limits there (SECURITY.md).
Memory is bounded: old addresses are forgotten.

Several app processes behind a proxy (issue 40's replicas) count together: ``SharedRateLimiter``
keeps the same window in a file of the runs folder, changed under a folder lock, so ten wrong
class codes a minute are ten across the replicas, not ten on each.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from pathlib import Path

from resnet_core.atomic import atomic_write_json
from resnet_core.filelock import FolderLock

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
            self._record(key)

    def take(self, key: str) -> float:
        """Count one event for ``key`` if it is within the limit and return 0; else count
        nothing and return the seconds until a slot frees. One step: ``wait`` then ``record``
        would let concurrent requests all pass before any is counted."""
        with self._lock:
            events = self._recent(key)
            if len(events) >= self.limit:
                return max(0.0, events[0] + self.window_s - self.clock())
            self._record(key)
            return 0.0

    def give_back(self, key: str) -> None:
        """Undo the latest ``take`` of ``key`` (the event it reserved did not happen)."""
        with self._lock:
            events = self.events.get(key)
            if events:
                events.pop()

    def _record(self, key: str) -> None:
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


class SharedRateLimiter:
    """``RateLimiter``'s window for every process serving one runs folder: the events live in
    ``path`` (JSON: key -> event times, wall clock: the processes' monotonic clocks differ),
    read and written under a ``FolderLock``. A take is a read and an atomic write of a small
    file, well under a millisecond's CPU; joins and code attempts are rare next to page views."""

    def __init__(self, path: Path, limit: int, window_s: float = 60.0, clock=time.time) -> None:
        self.path, self.limit, self.window_s, self.clock = Path(path), limit, window_s, clock
        self._lock = FolderLock(self.path.with_name(self.path.name + ".lock"))

    def take(self, key: str) -> float:
        """As ``RateLimiter.take``, counted across the processes."""
        with self._lock:
            events = self._read()
            recent = events.get(key, [])
            if len(recent) >= self.limit:
                return max(0.0, recent[0] + self.window_s - self.clock())
            events[key] = recent + [self.clock()]
            self._write(events)
            return 0.0

    def wait(self, key: str) -> float:
        with self._lock:
            recent = self._read().get(key, [])
            return 0.0 if len(recent) < self.limit else max(0.0, recent[0] + self.window_s - self.clock())

    def give_back(self, key: str) -> None:
        with self._lock:
            events = self._read()
            if events.get(key):
                events[key].pop()
                self._write(events)

    def _read(self) -> dict[str, list[float]]:
        """The events still in the window (a missing or torn file: none)."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        horizon = self.clock() - self.window_s
        events = {k: [t for t in v if isinstance(t, (int, float)) and t > horizon]
                  for k, v in data.items() if isinstance(v, list)} if isinstance(data, dict) else {}
        return {k: v for k, v in events.items() if v}

    def _write(self, events: dict[str, list[float]]) -> None:
        while len(events) > MAX_ADDRESSES:  # all busy: drop the oldest first
            del events[min(events, key=lambda k: events[k][-1])]
        atomic_write_json(self.path, events, mode=0o600)
