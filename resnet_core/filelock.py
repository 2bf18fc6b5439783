"""Files shared by every process that serves one runs folder (issue 40: app replicas behind a
proxy, on one machine or several sharing the folder).

``FolderLock`` is one lock for the threads of this process and for the other processes
together: a ``threading.RLock``, and under it, at the outermost acquire, an ``flock`` on a file.
``on_acquire`` runs with both held: the class reads class.json again there when another
process wrote it, so every change is read-modify-write of the newest state and none is lost;
the queue counts the folder's runs there before it admits one. The kernel releases an flock
when its process dies: it never goes stale. (flock works across machines on NFS v4 and most
cluster file systems; docs/classroom.md.)
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path


class FolderLock:
    def __init__(self, path: Path, on_acquire=None) -> None:
        self.path = path
        self.on_acquire = on_acquire
        self.threads = threading.RLock()  # the threads of this process, one at a time
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        self.threads.acquire()
        try:
            if self._depth == 0:
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # then the other processes
            self._depth += 1
            if self._depth == 1 and self.on_acquire is not None:
                self.on_acquire()
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._release()

    def _release(self) -> None:
        if self._depth > 0:
            self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self.threads.release()


def signature(path: Path) -> tuple[int, int, int] | None:
    """What changes when a file is written again (atomic writes replace it: a new inode)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
