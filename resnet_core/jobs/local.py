"""The local executor: each run is a child process on this machine (the default).

The child's stdin is a pipe nobody writes to: when it closes (the server closes, or dies) the
child checkpoints and stops. A warm child may wait with torch already imported, so the next
job starts without the interpreter's start-up (DESIGN.md: about 2 s of every short run).
"""

from __future__ import annotations

import os
import subprocess
import threading

from resnet_core.device import device_count, resolve_device
from resnet_core.i18n import ngettext
from resnet_core.jobs.capacity import hostname
from resnet_core.jobs.child import WORKER_FLAG
from resnet_core.jobs.executor import Exit, Launch


class LocalHandle:
    """A child process of this server."""

    def __init__(self, process: subprocess.Popen, executor: LocalExecutor, *, warm: bool) -> None:
        self.process = process
        self.warm = warm  # started by the waiting warm child, not a fresh interpreter
        self.where = f"pid {process.pid} on {hostname()}"
        self._executor = executor

    def wait(self) -> Exit:
        code = self.process.wait()
        close_quietly(self.process.stdin)
        self._executor.start_warm()  # a fresh one for the next job, now that the cores are free
        return Exit(code)

    def stop(self) -> None:
        close_quietly(self.process.stdin)  # the child's cue to checkpoint and stop


class LocalExecutor:
    name = "local"

    def __init__(self, max_running_per_device: int = 1, *, warm: bool = False, python: str = "",
                 env=None) -> None:
        self.max_running = max_running_per_device
        self._env = env or dict  # the child's variables on top of this process's
        self._python = python
        self._lock = threading.Lock()
        self._warm_wanted = warm
        self._warm: subprocess.Popen | None = None

    @property
    def waiting_child(self) -> subprocess.Popen | None:
        """The warm child waiting for the next job (torch already imported), or None."""
        with self._lock:
            warm = self._warm
        return warm if warm is not None and warm.poll() is None else None

    def slots(self, device: str) -> int:
        return self.max_running

    def device_type(self, device: str) -> str:
        return resolve_device(device).type

    def device_count(self, device: str) -> int:
        return device_count(device)

    def describe(self) -> str:
        return ngettext("local: child processes on this machine ({host}), {n} run at a time per device",
                        "local: child processes on this machine ({host}), {n} runs at a time per device",
                        self.max_running).format(host=hostname(), n=self.max_running)

    def start(self, launch: Launch) -> LocalHandle:
        if launch.processes == 1:
            warm = self._hand_to_warm(launch)
            if warm is not None:
                return LocalHandle(warm, self, warm=True)
        with open(launch.log_path, "ab") as log:
            # Own session: a Ctrl-C meant for the server reaches the children through
            # close(), in order.
            process = subprocess.Popen(launch.command, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.PIPE, env={**os.environ, **launch.env},
                                       start_new_session=True)
        return LocalHandle(process, self, warm=False)

    def close(self) -> None:
        """No more warm children; the waiting one gets end of input and exits untrained."""
        self._warm_wanted = False
        warm = self._take_warm()
        if warm is not None:
            warm.stdin.close()

    # -- the warm child ---------------------------------------------------------------------

    def start_warm(self) -> None:
        with self._lock:
            if not self._warm_wanted or (self._warm is not None and self._warm.poll() is None):
                return
            try:
                self._warm = subprocess.Popen(
                    [self._python, "-m", "resnet_core.jobs.child", WORKER_FLAG], stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **self._env()},
                    start_new_session=True)
            except OSError:
                self._warm = None  # jobs start a fresh interpreter instead

    def _take_warm(self) -> subprocess.Popen | None:
        with self._lock:
            warm, self._warm = self._warm, None
        return warm if warm is not None and warm.poll() is None else None

    def _hand_to_warm(self, launch: Launch) -> subprocess.Popen | None:
        """Give the job to the warm child; None if there is none (or it just died)."""
        warm = self._take_warm()
        if warm is None:
            return None
        try:  # the pipe stays open: its closing tells the child to stop
            warm.stdin.write(f"{launch.run_dir}\n".encode())
            warm.stdin.flush()
        except OSError:
            warm.kill()
            return None
        return warm


def close_quietly(stream) -> None:
    try:
        if stream is not None:
            stream.close()
    except OSError:
        pass
