"""A run folder: its id and paths, its states and the transitions between them, status.json
(written atomically), and Run, the object the rest of the workbench reads and changes it by."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import secrets
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_core.atomic import atomic_write_json, atomic_write_text
from resnet_core.errors import RunError
from resnet_core.i18n import _
from resnet_core.runs.jobfile import JobFile, Owner, read_job
from resnet_core.runs.jsonl import METRIC_COLUMNS, read_json, read_jsonl, read_regular

if TYPE_CHECKING:
    import pandas as pd


# --- the run folder's layout: the only place that names its files (README, "Run directory") ---
CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_DIR = "checkpoints"  # best.pt, last.pt, and epochs/epoch_NNN.pt (weight snapshots)
SNAPSHOT_DIR = "epochs"  # inside CHECKPOINT_DIR
CHECKPOINT_NAMES = ("best", "last")
EVAL_DIR = "eval"  # eval/<split>/predictions.csv, confusion.csv, per_class.csv, summary.json
EVAL_FILES = {"predictions": "predictions.csv", "confusion": "confusion.csv",
              "per_class": "per_class.csv", "summary": "summary.json"}  # summary: written last
EVAL_SPLITS = ("test", "val")
MAX_CSV_BYTES = 64 * 2**20  # an evaluation's CSVs: predictions.csv of 100,000 images is ~10 MB
LR_FIND_DIR = ".lr_find"  # <runs>/.lr_find/<id>/: the dashboard's learning-rate sweeps (not runs)
LR_FIND_FILES = ("lr_find.csv", "lr_find.png")  # a sweep's curve and its picture
SWEEPS_DIR = ".sweeps"  # <runs>/.sweeps/<id>/: a hyperparameter sweep's sweep.json and Optuna journal
STOP_FILE = "STOP"  # touch <run>/STOP to ask a run in another process to stop
LOG_FILE = "train.log"  # the training child's stdout and stderr (runs the dashboard launched)
DIAGNOSTICS_FILE = "diagnostics.jsonl"  # per-block gradient norms and branch ratios (diagnostics_every)
TENSORBOARD_DIR = "tensorboard"  # events.out.tfevents.* of a run trained with tensorboard on
JOB_FILE = "job.json"  # what the dashboard's child should do: {"resume", "epochs", "max_steps"}

# --- the run's life: every state change goes through Run.transition, which checks this table ---
# pruned: a sweep's pruner stopped the run (through its STOP file, like the Stop button).
# imported: curves read from TensorBoard or MLflow (interop/importer.py); read-only, for ever.
STATES = ("queued", "running", "completed", "failed", "stopped", "pruned", "interrupted", "imported")
ACTIVE_STATES = ("queued", "running")
RESUMABLE_STATES = ("stopped", "pruned", "interrupted", "failed")
TRANSITIONS: dict[str | None, tuple[str, ...]] = {
    None: ("queued", "running", "imported"),  # a new folder: queued by the dashboard, or trained at once
    "queued": ("running", "stopped", "failed", "interrupted"),
    "running": ("completed", "failed", "stopped", "pruned", "interrupted"),
    # back through resume (to a larger budget, for a completed run)
    "completed": ("queued", "running"),
    "failed": ("queued", "running"),
    # interrupted: a stop that its executor explains, the carrier lost (a cluster's worker or
    # node died; the child saw its pipe close and stopped with SERVER_GONE)
    "stopped": ("queued", "running", "interrupted"),
    "pruned": ("queued", "running"),
    "interrupted": ("queued", "running"),
    "imported": (),
}
# The STOP file's reason that ends a run as "pruned" rather than "stopped".
PRUNED = "pruned: its validation accuracy trailed the sweep's other trials at this epoch"
# Stops that a sweep resumes on its own: the app went away, or the sweep itself was stopped.
SERVER_GONE = "the app stopped while this run trained; resume it from its last checkpoint"
SWEEP_STOPPED = "the sweep was stopped; resuming the sweep resumes this run"

# A running run on another machine is presumed dead when its heartbeat is older than this.
STALE_AFTER_S = 15 * 60
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def now_iso() -> str:
    # Milliseconds: a short run's loop (started_at -> ended_at) is the history the time
    # estimate uses, and a 1 s resolution read a sub-second run as no time at all.
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def validate_run_id(run_id: str) -> str:
    """Refuse ids that could leave the runs folder (``..``, slashes, absolute paths)."""
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id) or ".." in run_id:
        raise RunError(_("invalid run id {run_id}: use letters, digits, '.', '_' and '-' only").format(
                           run_id=f"{run_id!r}"))
    return run_id


def new_run_id(dataset: str, arch: str) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{dataset}-{arch}-{secrets.token_hex(2)}"


def create_run_dir(runs_dir: str | Path, dataset: str, arch: str) -> Path:
    """A new, empty, uniquely named run folder (mkdir is the lock: two callers never share)."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    for _attempt in range(100):
        path = runs_dir / new_run_id(dataset, arch)
        try:
            path.mkdir()
        except FileExistsError:
            continue
        (path / CHECKPOINT_DIR).mkdir()
        return path
    raise RunError(_("could not create a unique run folder in {runs_dir}").format(
                       runs_dir=runs_dir))


# --------------------------------------------------------------------------- status



def read_status(run_dir: Path) -> dict:
    """status.json as a dict; a file that is not a JSON object is a one-line RunError."""
    path = Path(run_dir) / STATUS_FILE
    status = read_json(path)
    if not isinstance(status, dict):
        raise RunError(_("{path} is not a status object (found {name__})").format(
                           path=path, name__=type(status).__name__))
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
        raise RunError(_("unknown run state {new}; one of: {names}").format(
                           new=f"{new!r}", names=', '.join(STATES)))
    allowed = TRANSITIONS.get(old, ())
    if new not in allowed:
        raise RunError(_("run {run_id} is {value} and cannot become {new} (from {value}: "
                         "{value2})").format(
                           run_id=run_id, value=old or 'new', new=new, value2=', '.join(allowed) or 'nothing'))


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


def seconds_between(start: str | None, end: str | None) -> float | None:
    try:
        return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None


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

    @property
    def lr_find_paths(self) -> tuple[Path, Path]:
        """A learning-rate sweep's CSV and PNG (folders under <runs>/.lr_find/)."""
        return tuple(self.dir / name for name in LR_FIND_FILES)

    def checkpoint(self, which: str = "best") -> Path:
        """checkpoints/best.pt (best validation accuracy) or checkpoints/last.pt."""
        if which not in CHECKPOINT_NAMES:
            raise RunError(_("unknown checkpoint {which}; choose best or last").format(
                               which=f"{which!r}"))
        return self.dir / CHECKPOINT_DIR / f"{which}.pt"

    checkpoint_path = checkpoint  # the name earlier releases used

    def has_checkpoint(self, which: str = "best") -> bool:
        return self.checkpoint(which).is_file()

    def snapshot(self, epoch: int) -> Path:
        return self.dir / CHECKPOINT_DIR / SNAPSHOT_DIR / f"epoch_{epoch:03d}.pt"

    def snapshots(self) -> list[Path]:
        """The weight snapshots, oldest first."""
        return sorted((self.dir / CHECKPOINT_DIR / SNAPSHOT_DIR).glob("epoch_*.pt"))

    def snapshot_epochs(self) -> dict[int, Path]:
        """{epoch: its weight snapshot}, oldest first (the Explain page's probe slider)."""
        return {int(path.stem.removeprefix("epoch_")): path for path in self.snapshots()}

    @property
    def diagnostics_path(self) -> Path:
        return self.dir / DIAGNOSTICS_FILE

    @property
    def has_diagnostics(self) -> bool:
        """Whether it logged per-block diagnostics (trained with diagnostics_every > 0)."""
        return self.diagnostics_path.is_file()

    def eval_dir(self, split: str = "test") -> Path:
        if split not in EVAL_SPLITS:
            raise RunError(_("unknown split {split}; choose test or val").format(
                               split=f"{split!r}"))
        return self.dir / EVAL_DIR / split

    # -- reading ----------------------------------------------------------------------------

    @property
    def config(self) -> dict:
        config = read_json(self.config_path)
        if not isinstance(config, dict):
            raise RunError(_("{config_path} is not a config object (found {name__})").format(
                               config_path=self.config_path, name__=type(config).__name__))
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
    def is_imported(self) -> bool:
        """Read from TensorBoard or MLflow (``status["imported_from"]`` says where): curves to
        compare, no weights, never resumed."""
        return self.state == "imported"

    @property
    def is_resumable(self) -> bool:
        """Stopped, interrupted or failed, with a last.pt to continue from."""
        return self.state in RESUMABLE_STATES and self.has_checkpoint("last")

    @property
    def job(self) -> JobFile:
        """job.json, typed (how the job manager queued it: resume, processes, owner,
        challenge); an empty one for a run from the CLI or a notebook, or one whose job.json
        cannot be read."""
        try:
            return read_job(self)
        except RunError:
            return JobFile()

    @property
    def owner(self) -> Owner:
        """Who queued it (id and name); runs without one are local."""
        return self.job.owner

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

    def eval_file(self, split: str, name: str) -> Path:
        """eval/<split>/<file> for ``name`` in ``EVAL_FILES`` (predictions, confusion,
        per_class, summary)."""
        return self.eval_dir(split) / EVAL_FILES[name]

    def summary(self, split: str = "test") -> dict:
        path = self.eval_file(split, "summary")
        summary = read_json(path)
        if not isinstance(summary, dict):
            raise RunError(_("{path} is not a summary object (found {name__})").format(
                               path=path, name__=type(summary).__name__))
        return summary

    def per_class(self, split: str = "test") -> pd.DataFrame:
        import pandas as pd  # imported when a table is built, not with the module
        return pd.read_csv(io.BytesIO(read_regular(self.eval_file(split, "per_class"), MAX_CSV_BYTES)))

    def confusion(self, split: str = "test") -> pd.DataFrame:
        import pandas as pd  # imported when a table is built, not with the module
        return pd.read_csv(io.BytesIO(read_regular(self.eval_file(split, "confusion"), MAX_CSV_BYTES)), index_col=0)

    def has_eval(self, split: str = "test") -> bool:
        """Whether eval/<split>/ holds an evaluation (its summary is written last)."""
        return self.eval_file(split, "summary").is_file()

    def predictions(self, split: str = "test") -> pd.DataFrame:
        import pandas as pd  # imported when a table is built, not with the module
        return pd.read_csv(io.BytesIO(read_regular(self.eval_file(split, "predictions"), MAX_CSV_BYTES)))

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
            raise RunError(_("change a run's state with Run.transition"))
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
