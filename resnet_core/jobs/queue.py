"""The fair queue: which waiting job starts next on a device. Pure (no threads, no files), so
its rule is unit-tested on its own.

Round robin over owners, oldest first within each: the next job is the oldest one of the owner
who started one least recently, so thirty students queueing at once take turns instead of
waiting behind the first one's runs. With one owner (single-user mode) it is first come,
first served.
"""

from __future__ import annotations

import collections


class FairQueue:
    """Jobs waiting, per device, as (run id, owner id) in the order they were queued."""

    def __init__(self) -> None:
        self._waiting: dict[str, collections.deque[tuple[str, str]]] = \
            collections.defaultdict(collections.deque)
        self._turns: dict[str, int] = {}  # owner -> when they last started a job
        self._started = 0

    def push(self, device: str, run_id: str, owner: str) -> None:
        self._waiting[device].append((run_id, owner))

    def remove(self, device: str, run_id: str) -> bool:
        """Take a job out without starting it (stopped while queued); whether it was there."""
        queue = self._waiting[device]
        for item in queue:
            if item[0] == run_id:
                queue.remove(item)
                return True
        return False

    def next(self, device: str) -> str | None:
        """The run id that starts next on ``device``, or None when nothing waits."""
        first: dict[str, int] = {}  # owner -> position of their oldest job
        queue = self._waiting[device]
        for position, (_, owner) in enumerate(queue):
            first.setdefault(owner, position)
        if not first:
            return None
        owner = min(first, key=lambda o: (self._turns.get(o, -1), first[o]))
        return queue[first[owner]][0]

    def start(self, device: str, run_id: str) -> None:
        """``run_id`` leaves the queue to run: its owner's turn is now."""
        for item in self._waiting[device]:
            if item[0] == run_id:
                self._waiting[device].remove(item)
                self._turns[item[1]] = self._started
                self._started += 1
                return
        raise KeyError(run_id)

    def waiting(self, device: str) -> list[str]:
        return [run_id for run_id, _ in self._waiting[device]]
