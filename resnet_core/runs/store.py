"""RunStore: the runs folder as a collection of run folders (list, get, delete, mark the runs
whose process is gone as interrupted). A run whose files cannot be shown (runs/validate.py) is
left out of the list with one line, and ``get`` says why in one line."""

from __future__ import annotations

import os
import secrets
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_core.atomic import fsync_dir
from resnet_core.errors import RunError
from resnet_core.i18n import _
from resnet_core.runs.folder import (
    ACTIVE_STATES,
    CONFIG_FILE,
    RUN_ID_PATTERN,
    Run,
    is_stale,
    now_iso,
    read_status,
    seconds_between,
    validate_run_id,
)
from resnet_core.runs.validate import check_run
from resnet_core.settings import settings

if TYPE_CHECKING:
    import pandas as pd




LOADED = 1.5  # load average per core as a run ended, above which it shared the machine


def default_runs_dir() -> Path:
    return settings().runs_dir


class RunStore:
    """Every run under one runs folder: list, read, mark stale runs interrupted, delete."""

    def __init__(self, runs_dir: str | Path | None = None) -> None:
        self.root = Path(runs_dir) if runs_dir is not None else default_runs_dir()

    def path(self, run_id: str) -> Path:
        link = self.root / validate_run_id(run_id)
        if link.is_symlink():  # it would alias another run, or lead out of the folder
            raise RunError(_("run {run_id} is a symbolic link; run folders are real folders in "
                             "{root}").format(run_id=f"{run_id!r}", root=self.root))
        path = link.resolve()
        if path.parent != self.root.resolve():
            raise RunError(_("run id {run_id} points outside the runs folder {root}").format(
                               run_id=f"{run_id!r}", root=self.root))
        return path

    def get(self, run_id: str) -> Run:
        """The run; a one-line RunError when there is none, or its files cannot be shown."""
        path = self.path(run_id)
        if not (path / CONFIG_FILE).is_file():
            raise RunError(_("no run {run_id} in {root}").format(
                               run_id=f"{run_id!r}", root=self.root))
        run = Run(path)
        check_run(run)
        return run

    def runs(self) -> list[Run]:
        """Every run, newest first. A folder that is a symbolic link is not a run (``path``
        refuses it too); a run whose files cannot be shown is skipped with one warning line."""
        if not self.root.is_dir():
            return []
        found = []
        for p in self.root.iterdir():
            if p.is_symlink() or not p.is_dir() or not RUN_ID_PATTERN.match(p.name) \
                    or not (p / CONFIG_FILE).exists():
                continue
            run = Run(p)
            try:
                check_run(run)
            except (RunError, OSError) as e:
                warnings.warn(f"skipped run {p.name}: {str(e).splitlines()[0]}", stacklevel=2)
                continue
            found.append(run)
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
        """One row per run, newest first: id, state, its name (a lesson's runs are named
        "lesson:<id>:<label>"), dataset, arch and the choices that tell runs of one
        architecture apart (shortcuts, norm, activation), progress, accuracies, time."""
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
                "name": config.get("run_name"),
                "arch": config.get("arch"),
                "residual": config.get("residual"),
                "norm": config.get("norm"),
                "activation": config.get("activation"),
                "epoch": status.get("epoch"),
                "step": status.get("step"),
                "best_val_accuracy": status.get("best_val_accuracy"),
                "test_accuracy": test.get("accuracy"),
                "created_at": status.get("created_at"),
            })
        columns = ["run_id", "state", "name", "dataset", "arch", "residual", "norm", "activation",
                   "epoch", "step", "best_val_accuracy", "test_accuracy", "created_at"]
        return pd.DataFrame(rows, columns=columns)

    def seconds_per_image(self, arch: str, input_shape: list[int], device: str, *,
                          newest: int = 5) -> tuple[float, int] | None:
        """Measured training time per image of the newest completed runs with this
        architecture, input shape (C, H, W) and device type ("cpu" or "cuda"): the run's whole
        loop (status started_at -> ended_at: steps, validation, checkpoints, the test
        evaluation) over the images it trained on. (seconds, runs used), or None without
        history. Quiet runs are the truth: a run that ended with the machine loaded past
        LOADED per core is used only when no quiet one is there, and of those used the fastest
        counts (other work only ever slows a run down, never speeds it up)."""
        quiet, loaded = [], []
        for run in self.runs():  # newest first
            try:
                config, status = run.config, run.status
            except RunError:
                continue
            if (status.get("state") != "completed" or config.get("arch") != arch
                    or config.get("input_shape") != list(input_shape)
                    or str(config.get("device", "")).split(":")[0] != device):
                continue
            seconds = seconds_between(status.get("started_at"), status.get("ended_at"))
            images = (config.get("train_size") or 0) * (status.get("epoch") or 0)
            if seconds and images:
                load = status.get("load_per_core")
                (loaded if load is not None and load > LOADED else quiet).append(seconds / images)
            if len(quiet) == newest:
                break
        used = quiet or loaded[:newest]
        if not used:
            return None
        return min(used), len(used)

    def delete(self, run_id: str) -> None:
        """Remove a run folder; refused while the run is queued or running."""
        run = self.get(run_id)
        if run.is_active:
            raise RunError(_("run {run_id} is {state}; stop it before deleting").format(
                               run_id=run_id, state=run.state))
        # Rename first so a half-deleted folder never looks like a run.
        trash = run.dir.with_name(f".deleting-{run.id}-{secrets.token_hex(2)}")
        os.replace(run.dir, trash)
        fsync_dir(self.root)
        shutil.rmtree(trash, ignore_errors=True)


def config_table(configs: dict[str, dict], only_differences: bool = False) -> pd.DataFrame:
    """Runs' configs side by side (one column per run id, one row per setting, as text); with
    ``only_differences`` the settings that differ. A setting one run has and another lacks (or
    holds None) reads "-" and counts as a difference: NaN, which pandas' nunique skips, once
    showed an imported run beside a native one as "empty"."""
    import pandas as pd  # imported when a table is built, not with the module

    table = pd.DataFrame({rid: pd.Series(c, dtype=object).astype(str) for rid, c in configs.items()})
    table = table.astype(object).where(table.notna(), "-")
    if only_differences and len(configs) > 1:
        table = table[table.nunique(axis=1) > 1]
    return table
