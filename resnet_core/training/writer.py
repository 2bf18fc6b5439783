"""RunWriter: everything training writes into a run folder (config, status, metrics lines,
heartbeats), and CheckpointWriter, the thread that saves checkpoints atomically while training
goes on."""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_core.atomic import atomic_write_json
from resnet_core.events import Callback, TrainState
from resnet_core.runs.folder import ACTIVE_STATES, PRUNED, Run, now_iso, read_status
from resnet_core.runs.jsonl import append_jsonl, truncate_metrics

if TYPE_CHECKING:
    pass


HEARTBEAT_EVERY_S = 10.0


# --------------------------------------------------------------------------- writer


class RunWriter(Callback):
    """Everything training writes into a run folder: config.json, status.json (through
    ``Run.transition``), metrics.jsonl, checkpoints and weight snapshots. Only rank 0 has one.

    Checkpoints are written by a ``CheckpointWriter`` thread while training goes on; a metrics
    line that follows one goes into the same queue behind it, and a status change waits for
    them, so what the folder says never runs ahead of what its checkpoints hold and the loop
    never waits for a disk (a frozen resnet18's 45 MB checkpoint took 0.1 s per epoch).
    """

    def __init__(self, run_dir: Path) -> None:
        self.run = Run(Path(run_dir))
        self._last_heartbeat = 0.0
        self.checkpoints = CheckpointWriter()

    def write_config(self, config: dict) -> None:
        """config.json; a folder without a status yet becomes a queued run."""
        atomic_write_json(self.run.config_path, config)
        if not self.run.status_path.exists():
            self.run.transition("queued", created_at=now_iso(), error=None, started_at=None,
                                ended_at=None, epoch=0, step=0)

    def save_checkpoint(self, which: str, state: dict) -> Path:
        """checkpoints/<which>.pt (best or last), atomically, in the background."""
        return self.checkpoints.submit(self.run.checkpoint(which), state)

    def save_snapshot(self, epoch: int, state: dict) -> Path:
        """checkpoints/epochs/epoch_NNN.pt: weights only, for the Explain page's probe slider."""
        return self.checkpoints.submit(self.run.snapshot(epoch), state)

    def wait_for_checkpoints(self) -> None:
        """Return once every checkpoint asked for is on disk; re-raise a failed write."""
        self.checkpoints.wait()

    def rewind(self, step: int, epoch: int) -> None:
        """Before a resume: drop what was written after the checkpoint at (epoch, step), which
        the resumed run writes again (a killed run may have logged past its last checkpoint)."""
        truncate_metrics(self.run.metrics_path, step, epoch)
        self.run.eval_file("test", "summary").unlink(missing_ok=True)

    def on_train_start(self, state: TrainState) -> None:
        status = read_status(self.run.dir)
        self.run.transition("running", error=None,
                            created_at=status.get("created_at") or now_iso(),
                            started_at=now_iso(), ended_at=None, epoch=state.epoch,
                            step=state.step, total_steps=state.total_steps, pid=os.getpid(),
                            host=socket.gethostname())

    def on_step_end(self, state: TrainState, logs: dict | None) -> None:
        if logs is not None:
            self.checkpoints.append_line(self.run.metrics_path, logs)
        if time.monotonic() - self._last_heartbeat > HEARTBEAT_EVERY_S:
            self._last_heartbeat = time.monotonic()
            self.wait_for_checkpoints()
            self.run.record(epoch=state.epoch, step=state.step)

    def on_eval_end(self, state: TrainState, split: str, logs: dict) -> None:
        self.checkpoints.append_line(self.run.metrics_path, logs)

    def on_epoch_end(self, state: TrainState, logs: dict) -> None:
        # Progress only (the state is unchanged), so the epoch's checkpoint may still be being
        # written; the next metrics line waits for it.
        self.run.record(epoch=state.epoch, step=state.step,
                        best_val_accuracy=state.best_val_accuracy)

    def on_train_end(self, state: TrainState, outcome: str) -> None:
        self.wait_for_checkpoints()
        if outcome == "stopped" and state.stop_reason == PRUNED:
            outcome = "pruned"  # a sweep's pruner asked, through the same STOP file
        self.run.transition(outcome, ended_at=now_iso(), epoch=state.epoch, step=state.step,
                            best_val_accuracy=state.best_val_accuracy,
                            error=state.stop_reason or None, load_per_core=load_per_core())

    def on_exception(self, state: TrainState, error: BaseException) -> None:
        try:
            self.wait_for_checkpoints()  # what was saved before the error stays saved
        except Exception:  # noqa: BLE001 - the first error is the one to report
            pass
        if read_status(self.run.dir).get("state") not in ACTIVE_STATES:
            return  # the run already recorded how it ended
        interrupted = isinstance(error, KeyboardInterrupt)
        message = "interrupted" if interrupted else (str(error).splitlines() or [type(error).__name__])[0]
        self.run.transition("interrupted" if interrupted else "failed", error=message,
                            ended_at=now_iso(), epoch=state.epoch, step=state.step)


class CheckpointWriter:
    """Writes checkpoints in order on one background thread, so that the next training steps
    do not wait for torch.save and fsync (39 files, 0.8 s of the default digits run here).

    ``submit`` copies the state's tensors first (training goes on changing the originals).
    ``append_line`` queues a metrics line behind the checkpoints still being written (or writes
    it at once when none is). After a failed write the later jobs are skipped, so the last good
    file stays in place and no line claims more, and ``wait`` re-raises the error in the
    trainer's thread. Only the trainer's thread submits.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, path: Path, state: dict) -> Path:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="checkpoint-writer",
                                            daemon=True)
            self._thread.start()
        self._queue.put((save_checkpoint_job, path, _copied(state)))
        return path

    def append_line(self, path: Path, record: dict) -> None:
        if self._queue.unfinished_tasks:  # behind a checkpoint: keep the order, do not wait
            self._queue.put((append_jsonl, path, record))
        else:
            self.raise_error()
            append_jsonl(path, record)

    def wait(self) -> None:
        self._queue.join()
        self.raise_error()

    def raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _work(self) -> None:
        while True:
            job, path, payload = self._queue.get()
            try:
                if self._error is None:
                    job(path, payload)
            except BaseException as e:  # noqa: BLE001 - handed to the trainer by wait()
                self._error = e
            finally:
                self._queue.task_done()


def save_checkpoint_job(path: Path, state: dict) -> None:
    from resnet_core.training.checkpoint import (
        save_checkpoint,  # torch: imported by the writer, not by readers
    )

    save_checkpoint(path, state)


def _copied(obj):
    """The same nesting of dicts and lists, every tensor copied to the CPU."""
    if isinstance(obj, dict):
        return {k: _copied(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_copied(v) for v in obj)
    if hasattr(obj, "detach") and hasattr(obj, "to"):  # a tensor (no torch import here)
        return obj.detach().to("cpu", copy=True)
    return obj


def load_per_core() -> float | None:
    """The machine's 1-minute load average per core as a run ends (about 1 with the run alone
    on its threads; far above when other work shared the cores). The time estimate trusts
    quiet runs: one made on a loaded machine once said ~170 s an epoch for ~20 s."""
    try:
        return round(os.getloadavg()[0] / (os.cpu_count() or 1), 2)
    except OSError:  # no load average on this platform
        return None
