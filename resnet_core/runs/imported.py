"""Imported runs: curves made elsewhere (a TensorBoard logdir, an MLflow store) written as
run folders, so the Runs page lists and overlays them with the workbench's own.

An imported run folder has config.json (what the source said: its name, hyperparameters,
dataset and architecture where known), metrics.jsonl (the same lines a run writes: split,
step, epoch, loss, accuracy, ...) and status.json with state "imported" and
``imported_from`` = {"kind", "source", "name", "key", "imported_at"}. It has no checkpoints:
nothing resumes, evaluates or serves it. Its id is made from the source (when it started, its
name and a hash of where it came from), so importing the same source again refreshes the same
folder instead of adding a second.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import shutil
from pathlib import Path

from resnet_core.atomic import atomic_write_json, fsync_dir
from resnet_core.runs.folder import CONFIG_FILE, METRICS_FILE, STATUS_FILE, Run, now_iso
from resnet_core.runs.jsonl import write_jsonl


def start_time(started: float | None) -> dt.datetime | None:
    """A source's start (seconds since 1970) as a time, or None where it cannot be one (a wall
    time of 1e18 from a hostile event file was a traceback that stopped the import)."""
    try:
        return dt.datetime.fromtimestamp(float(started)) if started else None
    except (OverflowError, OSError, ValueError, TypeError):
        return None


def imported_run_id(name: str, key: str, started: float | None) -> str:
    """<YYYYmmdd-HHMMSS>-imported-<name>-<hash>: sorts with native runs by when it started."""
    stamp = (start_time(started) or dt.datetime.fromtimestamp(0)).strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:60] or "run"
    return f"{stamp}-imported-{slug}-{hashlib.sha1(key.encode()).hexdigest()[:6]}"


def write_imported_run(runs_dir: str | Path, *, kind: str, source: str, name: str, key: str,
                       started: float | None, config: dict, lines: list[dict]) -> Run:
    """Write (or refresh) the imported run of one source run; the folder appears whole or not
    at all (written beside it, then renamed into place)."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    run_id = imported_run_id(name, key, started)
    staging = runs_dir / f".importing-{run_id}-{secrets.token_hex(2)}"
    staging.mkdir()
    try:
        atomic_write_json(staging / CONFIG_FILE, {"run_name": name, **config, "imported": kind})
        write_jsonl(staging / METRICS_FILE, lines)
        when = start_time(started)
        created = when.isoformat(timespec="milliseconds") if when else None
        last = max(lines, key=lambda line: line.get("step", 0), default={})
        atomic_write_json(staging / STATUS_FILE, {
            "state": "imported", "created_at": created, "updated_at": now_iso(),
            "epoch": last.get("epoch"), "step": last.get("step"),
            "best_val_accuracy": max((line["accuracy"] for line in lines
                                      if line.get("split") == "val" and "accuracy" in line), default=None),
            "imported_from": {"kind": kind, "source": source, "name": name, "key": key,
                              "imported_at": now_iso()}})
        target = runs_dir / run_id
        if target.exists():  # a refresh: the old copy leaves in one rename, the new one arrives
            trash = runs_dir / f".deleting-{run_id}-{secrets.token_hex(2)}"
            os.replace(target, trash)
            os.replace(staging, target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(staging, target)
        fsync_dir(runs_dir)
        return Run(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
