"""A TensorBoard over the runs folder, started by the app on a local port and stopped with it.

``tensorboard --logdir <runs folder>`` shows every run that trained with its event files on
(each run's ``tensorboard/`` folder, by run id). The Runs page shows that command, and on a
machine where the browser and the app are the same one it can start it: one process per
Workbench, bound to 127.0.0.1, on a free port, stopped when the Workbench closes, and gone
when the app is (``tensorboard_child``: it reads its stdin, a pipe from here, and ends at its
end; it answers only its own Host).
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from resnet_core.errors import WorkbenchError
from resnet_core.i18n import _


def tensorboard_command(runs_dir: str | Path, port: int | None = None) -> list[str]:
    """The command that shows every run of the folder in TensorBoard."""
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(Path(runs_dir).resolve()),
               "--host", "127.0.0.1"]
    return command + (["--port", str(port)] if port else [])


def shown_command(runs_dir: str | Path) -> str:
    """The same, as a person types it."""
    return f"tensorboard --logdir {shlex.quote(str(Path(runs_dir).resolve()))}"


def write_missing_events(runs_dir: str | Path) -> int:
    """Event files for the runs that trained without them (TensorBoard off), written from
    their metrics.jsonl into ``<run>/tensorboard/``: a board started from the Runs page once
    showed nothing for them. Active and imported runs are left as they are. Returns how many
    runs got events."""
    from torch.utils.tensorboard import SummaryWriter

    from resnet_core.runs.jsonl import read_jsonl
    from resnet_core.runs.store import RunStore
    from resnet_core.training.tensorboard import TB_DIR, scalars_of

    written = 0
    for run in RunStore(runs_dir).runs():
        if run.is_active or run.is_imported or (run.dir / TB_DIR).exists():
            continue
        lines = read_jsonl(run.metrics_path)
        if not lines:
            continue
        with SummaryWriter(log_dir=str(run.dir / TB_DIR)) as writer:
            for line in lines:
                for tag, value in scalars_of(line).items():
                    writer.add_scalar(tag, value, int(line.get("step", 0)))
        written += 1
    return written


class TensorBoardServer:
    """One TensorBoard process for a runs folder: ``start()`` returns its URL (starting it the
    first time), ``stop()`` ends it."""

    def __init__(self, runs_dir: str | Path, *, log: Path | None = None) -> None:
        self.runs_dir = Path(runs_dir)
        self.log = log
        self.process: subprocess.Popen | None = None
        self.url: str | None = None
        self._lock = threading.Lock()

    @property
    def command(self) -> str:
        """The command a person types for the same view."""
        return shown_command(self.runs_dir)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 60.0) -> str:
        with self._lock:
            if self.running and self.url:
                return self.url
            write_missing_events(self.runs_dir)
            port = _free_port()
            out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
            try:
                # stdin a pipe this process holds: when the app ends, however it ends, the
                # pipe closes and the TensorBoard with it.
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "resnet_core.interop.tensorboard_child", "--logdir",
                     str(self.runs_dir.resolve()), "--port", str(port)],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)
            finally:
                if self.log:
                    out.close()
            self.url = f"http://127.0.0.1:{port}/"
            self._wait_ready(timeout)
            return self.url

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise WorkbenchError(_("TensorBoard exited at start (code {returncode})").format(
                                         returncode=self.process.returncode))
            try:
                with urllib.request.urlopen(self.url, timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        self._stop()
        raise WorkbenchError(_("TensorBoard did not answer on {url} within {timeout} s").format(
                                 url=self.url, timeout=f"{timeout:.0f}"))

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process, self.url = None, None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
