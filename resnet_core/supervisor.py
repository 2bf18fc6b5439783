"""A supervised process's cue to leave: its supervisor (the app, or the job manager) holds the
other end of its stdin, and when the supervisor exits, even by SIGKILL, the kernel closes that
pipe. ``on_end_of_input`` acts on it; the training child and a deployed service both use it."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable


def on_end_of_input(action: Callable[[], None]) -> threading.Thread:
    """Call ``action`` (from a daemon thread) when stdin reaches its end: the supervisor closed
    the pipe or died. An stdin that cannot be read (none, or closed) never calls it."""

    def wait_for_end_of_input() -> None:
        try:
            sys.stdin.buffer.read()
        except (OSError, ValueError, AttributeError):
            return
        action()

    thread = threading.Thread(target=wait_for_end_of_input, name="supervisor-watch", daemon=True)
    thread.start()
    return thread
