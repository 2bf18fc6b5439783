"""The run store: one folder per run under the runs folder, and the callback that fills it.

This module owns the run folder: the file names (below), the states and the transitions
between them (``TRANSITIONS``; ``Run.transition`` is the one way to change a state), and the
writer the trainer reports to. Nothing else writes status.json.

Layout (README, "Run directory"): config.json, status.json, metrics.jsonl, checkpoints/,
eval/<split>/. JSON and CSV files are replaced atomically; metrics.jsonl is append-only,
one whole line per write, so at worst a crash leaves a torn last line, which readers skip.
A run whose status says running but whose process is gone is reported as interrupted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import re
import secrets
import shutil
import socket
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import atomic_write_json, atomic_write_text, fsync_dir
from .errors import RunError
from .events import Callback, TrainState

if TYPE_CHECKING:
    import pandas as pd

RUNS_ENV = "RESNET_WORKBENCH_RUNS"

# --- the run folder's layout: the only place that names its files (README, "Run directory") ---
CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_DIR = "checkpoints"  # best.pt, last.pt, and epochs/epoch_NNN.pt (weight snapshots)
SNAPSHOT_DIR = "epochs"  # inside CHECKPOINT_DIR
CHECKPOINT_NAMES = ("best", "last")
EVAL_DIR = "eval"  # eval/<split>/predictions.csv, confusion.csv, per_class.csv, summary.json
EVAL_SPLITS = ("test", "val")
STOP_FILE = "STOP"  # touch <run>/STOP to ask a run in another process to stop
LOG_FILE = "train.log"  # the training child's stdout and stderr (runs the dashboard launched)
JOB_FILE = "job.json"  # what the dashboard's child should do: {"resume", "epochs", "max_steps"}

# --- the run's life: every state change goes through Run.transition, which checks this table ---
STATES = ("queued", "running", "completed", "failed", "stopped", "interrupted")
ACTIVE_STATES = ("queued", "running")
RESUMABLE_STATES = ("stopped", "interrupted", "failed")
TRANSITIONS: dict[str | None, tuple[str, ...]] = {
    None: ("queued", "running"),  # a new folder: queued by the dashboard, or trained at once
    "queued": ("running", "stopped", "failed", "interrupted"),
    "running": ("completed", "failed", "stopped", "interrupted"),
    # back through resume (to a larger budget, for a completed run)
    "completed": ("queued", "running"),
    "failed": ("queued", "running"),
    "stopped": ("queued", "running"),
    "interrupted": ("queued", "running"),
}

METRIC_COLUMNS = ["split", "epoch", "step", "loss", "accuracy"]
# A running run on another machine is presumed dead when its heartbeat is older than this.
STALE_AFTER_S = 15 * 60
HEARTBEAT_EVERY_S = 10.0
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def now_iso() -> str:
    # Milliseconds: a short run's loop (started_at -> ended_at) is the history the time
    # estimate uses, and a 1 s resolution read a sub-second run as no time at all.
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def default_runs_dir() -> Path:
    return Path(os.environ.get(RUNS_ENV) or "runs")


def validate_run_id(run_id: str) -> str:
    """Refuse ids that could leave the runs folder (``..``, slashes, absolute paths)."""
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id) or ".." in run_id:
        raise RunError(f"invalid run id {run_id!r}: use letters, digits, '.', '_' and '-' only")
    return run_id


def new_run_id(dataset: str, arch: str) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{dataset}-{arch}-{secrets.token_hex(2)}"


def create_run_dir(runs_dir: str | Path, dataset: str, arch: str) -> Path:
    """A new, empty, uniquely named run folder (mkdir is the lock: two callers never share)."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        path = runs_dir / new_run_id(dataset, arch)
        try:
            path.mkdir()
        except FileExistsError:
            continue
        (path / CHECKPOINT_DIR).mkdir()
        return path
    raise RunError(f"could not create a unique run folder in {runs_dir}")


# --------------------------------------------------------------------------- status


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(f"{path} is not valid JSON ({e})") from e


def read_status(run_dir: Path) -> dict:
    """status.json as a dict; a file that is not a JSON object is a one-line RunError."""
    path = Path(run_dir) / STATUS_FILE
    status = read_json(path)
    if not isinstance(status, dict):
        raise RunError(f"{path} is not a status object (found {type(status).__name__})")
    return status


def write_status(run_dir: Path, **fields) -> dict:
    """Merge ``fields`` into status.json (atomically) and return the new status.

    No state check: code that changes a run's state calls ``Run.transition``.
    """
    status = read_status(run_dir)
    status.update(fields)
    status["updated_at"] = now_iso()
    atomic_write_json(Path(run_dir) / STATUS_FILE, status)
    return status


def check_transition(run_id: str, old: str | None, new: str) -> None:
    """Raise RunError unless TRANSITIONS allows ``old`` -> ``new``."""
    if new not in STATES:
        raise RunError(f"unknown run state {new!r}; one of: {', '.join(STATES)}")
    allowed = TRANSITIONS.get(old, ())
    if new not in allowed:
        raise RunError(f"run {run_id} is {old or 'new'} and cannot become {new} "
                       f"(from {old or 'new'}: {', '.join(allowed) or 'nothing'})")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(status: dict) -> bool:
    """A running/queued status with nobody behind it any more."""
    if status.get("state") not in ACTIVE_STATES:
        return False
    if status.get("host") == socket.gethostname() and status.get("pid"):
        return not process_alive(int(status["pid"]))
    updated = status.get("updated_at")
    try:
        age = dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(updated)
    except (TypeError, ValueError):  # missing or not a date: no heartbeat to go by
        return True
    return age.total_seconds() > STALE_AFTER_S


def _seconds_between(start: str | None, end: str | None) -> float | None:
    try:
        return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- metrics


def append_jsonl(path: Path, record: dict) -> None:
    """One os.write per line, so concurrent readers never see a line split across writes."""
    line = (json.dumps(record) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_jsonl(path: Path) -> list[dict]:
    """Every complete line; a torn or garbled line (a crash mid-write) is skipped with a warning."""
    records, bad = [], 0
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            bad += 1
    if bad:
        warnings.warn(f"{path}: skipped {bad} unreadable line(s) (torn by a crash?)", stacklevel=2)
    return records


def truncate_metrics(path: Path, step: int, epoch: int) -> None:
    """Keep only lines a checkpoint at (epoch, step) covers: resuming never duplicates a line."""
    _rewrite_jsonl(path, [r for r in read_jsonl(path)
                          if r.get("step", 0) <= step and r.get("split") != "test"
                          and not (r.get("split") != "train" and r.get("epoch", 0) > epoch)])


def truncate_after_step(path: Path, step: int) -> None:
    """Drop lines logged after ``step`` (a resumed run logs them again)."""
    if Path(path).exists():
        _rewrite_jsonl(path, [r for r in read_jsonl(path) if r.get("step", 0) <= step])


def _rewrite_jsonl(path: Path, records: list[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in records))


class MetricsTail:
    """Reads only what was appended to metrics.jsonl since the last call (cheap page reruns).

    A partial last line is left for the next call; a file that was replaced (a resume
    rewrites it through a new file, which may be as long as the old one or longer) or that
    shrank is read again from the start. Thread-safe: one tail can serve many tabs.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._offset = 0
        self._inode: int | None = None
        self._records: list[dict] = []
        self._lock = threading.Lock()

    def read(self) -> list[dict]:
        with self._lock:
            try:
                info = self.path.stat()
            except FileNotFoundError:
                self._offset, self._records = 0, []
                return []
            size = info.st_size
            if size < self._offset or info.st_ino != self._inode:
                self._offset, self._records, self._inode = 0, [], info.st_ino
            if size > self._offset:
                with open(self.path, "rb") as f:
                    f.seek(self._offset)
                    chunk = f.read(size - self._offset)
                complete = chunk[: chunk.rfind(b"\n") + 1]
                self._offset += len(complete)
                for line in complete.decode("utf-8", errors="replace").splitlines():
                    try:
                        self._records.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue  # a torn line from a crash: skipped, as read_jsonl does
            return list(self._records)

    def frame(self) -> pd.DataFrame:
        import pandas as pd  # imported when a table is built, not with the module
        records = self.read()
        return pd.DataFrame(records) if records else pd.DataFrame(columns=METRIC_COLUMNS)


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
        (self.run.eval_dir("test") / "summary.json").unlink(missing_ok=True)

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
        self.run.transition(outcome, ended_at=now_iso(), epoch=state.epoch, step=state.step,
                            best_val_accuracy=state.best_val_accuracy,
                            error=state.stop_reason or None)

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
    from .checkpoint import save_checkpoint  # torch: imported by the writer, not by readers

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


# --------------------------------------------------------------------------- reading


@dataclass
class Run:
    """A handle on one run folder: its paths, its files, and its state changes.

    Every read goes to the files, nothing is cached. Every state change goes through
    ``transition``, which refuses what ``TRANSITIONS`` does not allow.
    """

    dir: Path

    def __post_init__(self) -> None:
        self.dir = Path(self.dir)

    @property
    def id(self) -> str:
        return self.dir.name

    # -- paths ------------------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.dir / CONFIG_FILE

    @property
    def status_path(self) -> Path:
        return self.dir / STATUS_FILE

    @property
    def metrics_path(self) -> Path:
        return self.dir / METRICS_FILE

    @property
    def log_path(self) -> Path:
        return self.dir / LOG_FILE

    @property
    def job_path(self) -> Path:
        return self.dir / JOB_FILE

    @property
    def stop_path(self) -> Path:
        return self.dir / STOP_FILE

    def checkpoint(self, which: str = "best") -> Path:
        """checkpoints/best.pt (best validation accuracy) or checkpoints/last.pt."""
        if which not in CHECKPOINT_NAMES:
            raise RunError(f"unknown checkpoint {which!r}; choose best or last")
        return self.dir / CHECKPOINT_DIR / f"{which}.pt"

    checkpoint_path = checkpoint  # the name earlier releases used

    def has_checkpoint(self, which: str = "best") -> bool:
        return self.checkpoint(which).is_file()

    def snapshot(self, epoch: int) -> Path:
        return self.dir / CHECKPOINT_DIR / SNAPSHOT_DIR / f"epoch_{epoch:03d}.pt"

    def snapshots(self) -> list[Path]:
        """The weight snapshots, oldest first."""
        return sorted((self.dir / CHECKPOINT_DIR / SNAPSHOT_DIR).glob("epoch_*.pt"))

    def eval_dir(self, split: str = "test") -> Path:
        if split not in EVAL_SPLITS:
            raise RunError(f"unknown split {split!r}; choose test or val")
        return self.dir / EVAL_DIR / split

    # -- reading ----------------------------------------------------------------------------

    @property
    def config(self) -> dict:
        config = read_json(self.config_path)
        if not isinstance(config, dict):
            raise RunError(f"{self.config_path} is not a config object "
                           f"(found {type(config).__name__})")
        return config

    @property
    def status(self) -> dict:
        """status.json, with a dead queued/running run shown as interrupted. A damaged file
        reads as an empty status (state unknown) with a warning, so one bad run never breaks
        a page that lists them all."""
        try:
            return self.checked_status()
        except RunError as e:
            warnings.warn(str(e), stacklevel=2)
            return {}

    def checked_status(self) -> dict:
        """``status``, but a damaged status.json raises RunError instead of reading as {}."""
        status = read_status(self.dir)
        return {**status, "state": "interrupted"} if is_stale(status) else status

    @property
    def state(self) -> str | None:
        """queued | running | completed | failed | stopped | interrupted (None: no status yet)."""
        return self.status.get("state")

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def is_resumable(self) -> bool:
        """Stopped, interrupted or failed, with a last.pt to continue from."""
        return self.state in RESUMABLE_STATES and self.has_checkpoint("last")

    @property
    def job(self) -> dict:
        """job.json (how the job manager queued it: resume, processes, owner, challenge); {}
        for a run from the CLI or a notebook."""
        try:
            job = read_json(self.job_path)
        except RunError:
            return {}
        return job if isinstance(job, dict) else {}

    @property
    def owner(self) -> dict:
        """{"id", "name"} of who queued it (class servers); runs without one are local."""
        from .access import owner_of

        return owner_of(self.job)

    def result(self) -> dict:
        """{"test_accuracy": the final test evaluation's (the last "test" line), "train_seconds":
        the sum of the train lines' intervals}, None where there is none yet; one read of
        metrics.jsonl."""
        lines = read_jsonl(self.metrics_path)
        tests = [m for m in lines if m.get("split") == "test"]
        seconds = [m.get("elapsed_s") or 0.0 for m in lines if m.get("split") == "train"]
        return {"test_accuracy": float(tests[-1]["accuracy"]) if tests else None,
                "train_seconds": float(sum(seconds)) if seconds else None}

    def metrics(self) -> pd.DataFrame:
        """metrics.jsonl as a frame (train, val and test lines; filter on ``split``)."""
        import pandas as pd  # imported when a table is built, not with the module
        records = read_jsonl(self.metrics_path)
        return pd.DataFrame(records) if records else pd.DataFrame(columns=METRIC_COLUMNS)

    def summary(self, split: str = "test") -> dict:
        path = self.eval_dir(split) / "summary.json"
        summary = read_json(path)
        if not isinstance(summary, dict):
            raise RunError(f"{path} is not a summary object (found {type(summary).__name__})")
        return summary

    def per_class(self, split: str = "test") -> pd.DataFrame:
        import pandas as pd  # imported when a table is built, not with the module
        return pd.read_csv(self.eval_dir(split) / "per_class.csv")

    def confusion(self, split: str = "test") -> pd.DataFrame:
        import pandas as pd  # imported when a table is built, not with the module
        return pd.read_csv(self.eval_dir(split) / "confusion.csv", index_col=0)

    def has_eval(self, split: str = "test") -> bool:
        """Whether eval/<split>/ holds an evaluation (its summary is written last)."""
        return (self.eval_dir(split) / "summary.json").is_file()

    def predictions(self, split: str = "test") -> pd.DataFrame:
        import pandas as pd  # imported when a table is built, not with the module
        return pd.read_csv(self.eval_dir(split) / "predictions.csv")

    # -- writing ----------------------------------------------------------------------------

    def transition(self, state: str, **fields) -> dict:
        """Move the run to ``state`` (with other status fields); RunError if not allowed.

        A queued or running run whose process is gone may also take the ways out of
        interrupted (resume: queued | running), as well as its own (failed, interrupted, ...).
        """
        status = read_status(self.dir)
        old = status.get("state")
        if is_stale(status) and state in TRANSITIONS["interrupted"]:
            old = "interrupted"
        check_transition(self.id, old, state)
        return write_status(self.dir, state=state, **fields)

    def record(self, **fields) -> dict:
        """Update status fields other than the state (progress, heartbeat)."""
        if "state" in fields:
            raise RunError("change a run's state with Run.transition")
        return write_status(self.dir, **fields)

    def request_stop(self, reason: str = "") -> None:
        """Ask the process training this run to checkpoint and stop after its current step;
        ``reason`` (in the STOP file) becomes the stopped run's status error."""
        atomic_write_text(self.stop_path, reason)

    def take_stop_request(self) -> str | None:
        """The reason of a stop requested through the STOP file ("" for none, as an empty file
        a user made by hand), once; None when no stop was requested."""
        try:
            reason = self.stop_path.read_text(errors="replace").strip()
        except FileNotFoundError:
            return None
        self.stop_path.unlink(missing_ok=True)
        return reason


class RunStore:
    """Every run under one runs folder: list, read, mark stale runs interrupted, delete."""

    def __init__(self, runs_dir: str | Path | None = None) -> None:
        self.root = Path(runs_dir) if runs_dir is not None else default_runs_dir()

    def path(self, run_id: str) -> Path:
        path = (self.root / validate_run_id(run_id)).resolve()
        if path.parent != self.root.resolve():
            raise RunError(f"run id {run_id!r} points outside the runs folder {self.root}")
        return path

    def get(self, run_id: str) -> Run:
        path = self.path(run_id)
        if not (path / CONFIG_FILE).is_file():
            raise RunError(f"no run {run_id!r} in {self.root}")
        return Run(path)

    def runs(self) -> list[Run]:
        if not self.root.is_dir():
            return []
        found = [Run(p) for p in self.root.iterdir()
                 if p.is_dir() and RUN_ID_PATTERN.match(p.name) and (p / CONFIG_FILE).is_file()]
        return sorted(found, key=lambda r: r.id, reverse=True)

    def mark_interrupted(self, states: tuple[str, ...] = ACTIVE_STATES) -> list[str]:
        """Write state=interrupted for every stale run in ``states``; return their ids."""
        marked = []
        for run in self.runs():
            try:
                status = read_status(run.dir)
                if status.get("state") in states and is_stale(status):
                    run.transition("interrupted", ended_at=status.get("ended_at") or now_iso(),
                                   error="the process running it ended without finishing")
                    marked.append(run.id)
            except RunError as e:  # a damaged run stays as it is; the others are marked
                warnings.warn(f"skipped run {run.id}: {e}", stacklevel=2)
        return marked

    def table(self) -> pd.DataFrame:
        """One row per run, newest first: id, state, dataset, arch, epochs, accuracies, time."""
        import pandas as pd  # imported when a table is built, not with the module
        rows = []
        for run in self.runs():
            try:
                config, status, test = run.config, run.checked_status(), run.summary("test")
            except RunError as e:  # one damaged run is left out, the others still listed
                warnings.warn(f"skipped run {run.id}: {e}", stacklevel=2)
                continue
            rows.append({
                "run_id": run.id,
                "state": status.get("state", "unknown"),
                "dataset": config.get("dataset"),
                "arch": config.get("arch"),
                "residual": config.get("residual"),
                "epoch": status.get("epoch"),
                "step": status.get("step"),
                "best_val_accuracy": status.get("best_val_accuracy"),
                "test_accuracy": test.get("accuracy"),
                "created_at": status.get("created_at"),
            })
        columns = ["run_id", "state", "dataset", "arch", "residual", "epoch", "step",
                   "best_val_accuracy", "test_accuracy", "created_at"]
        return pd.DataFrame(rows, columns=columns)

    def seconds_per_image(self, arch: str, input_shape: list[int], device: str, *,
                          newest: int = 5) -> tuple[float, int] | None:
        """Measured training time per image of the newest completed runs with this
        architecture, input shape (C, H, W) and device type ("cpu" or "cuda"): the run's whole
        loop (status started_at -> ended_at: steps, validation, checkpoints, the test
        evaluation) over the images it trained on. (median, runs used), or None without history.
        """
        per_image = []
        for run in self.runs():  # newest first
            try:
                config, status = run.config, run.status
            except RunError:
                continue
            if (status.get("state") != "completed" or config.get("arch") != arch
                    or config.get("input_shape") != list(input_shape)
                    or str(config.get("device", "")).split(":")[0] != device):
                continue
            seconds = _seconds_between(status.get("started_at"), status.get("ended_at"))
            images = (config.get("train_size") or 0) * (status.get("epoch") or 0)
            if seconds and images:
                per_image.append(seconds / images)
            if len(per_image) == newest:
                break
        if not per_image:
            return None
        return sorted(per_image)[len(per_image) // 2], len(per_image)

    def delete(self, run_id: str) -> None:
        """Remove a run folder; refused while the run is queued or running."""
        run = self.get(run_id)
        if run.is_active:
            raise RunError(f"run {run_id} is {run.state}; stop it before deleting")
        # Rename first so a half-deleted folder never looks like a run.
        trash = run.dir.with_name(f".deleting-{run.id}-{secrets.token_hex(2)}")
        os.replace(run.dir, trash)
        fsync_dir(self.root)
        shutil.rmtree(trash, ignore_errors=True)
