"""A supervised process's cue to leave: its supervisor (the app, or the job manager) holds the
other end of its stdin, and when the supervisor exits, even by SIGKILL, the kernel closes that
pipe. ``on_end_of_input`` acts on it; the training child and a deployed service both use it."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable


def on_end_of_input(action: Callable[[], None]) -> threading.Thread:
    """Call ``action`` (from a daemon thread) when stdin reaches its end: the supervisor closed
    the pipe or died. An stdin that cannot be read (none, or closed) never calls it."""

    # The file descriptor, not sys.stdin.buffer: a daemon thread blocked inside the buffered
    # reader holds its lock, and the interpreter's exit then aborts with "Fatal Python error:
    # _enter_buffered_busy: could not acquire lock for <stdin> at interpreter shutdown"
    # (every training child's log ended so, with exit code -6 after its run completed).
    try:
        fd = sys.stdin.fileno()
    except (OSError, ValueError, AttributeError):
        fd = None

    def wait_for_end_of_input() -> None:
        if fd is None:
            return
        try:
            while os.read(fd, 65536):
                pass
        except OSError:
            return
        action()

    thread = threading.Thread(target=wait_for_end_of_input, name="supervisor-watch", daemon=True)
    thread.start()
    return thread
