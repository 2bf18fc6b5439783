"""What a run folder's files must hold before anything shows or queues the run: the JSON types
of config.json and status.json (job.json is typed by runs/jobfile.py).

With the Ray or Slurm executor every node writes the runs folder, and a student's runs sit in
it: one hostile or damaged file (``"epoch": "x"``, a list for a status, ``queued_at`` a
number among strings) once stopped the app's start-up or broke Home, Runs and Evaluate for
everyone, since the newest run is the pages' default. ``check_run`` names the first problem
in one line; ``RunStore.runs`` skips such a run with that line, ``RunStore.get`` raises it.
"""

from __future__ import annotations

import os
import stat

from resnet_core.errors import RunError
from resnet_core.i18n import _
from resnet_core.runs.folder import (
    EVAL_DIR,
    EVAL_FILES,
    EVAL_SPLITS,
    METRICS_FILE,
    STATES,
    read_status,
)
from resnet_core.runs.jobfile import read_job
from resnet_core.runs.jsonl import MAX_JSONL_BYTES

# A JSON value's kind -> the Python types json.loads gives it (bool is not a number here).
KINDS: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (int, float),
                                      "bool": (bool,), "object": (dict,)}

# config.json: TrainConfig's fields, each as (kind, may be null). The runs wing sits below
# training and cannot import it; tests/core/test_facts.py checks this table against
# TrainConfig's annotations, so the two cannot drift apart.
CONFIG_TYPES: dict[str, tuple[str, bool]] = {
    "dataset": ("str", False), "arch": ("str", False), "residual": ("bool", False),
    "norm": ("str", False), "activation": ("str", False), "stem": ("str", False),
    "width": ("int", True), "pretrained": ("str", False), "init_from": ("str", True),
    "freeze": ("str", False), "freeze_epochs": ("int", False), "feature_cache": ("bool", False),
    "data_root": ("str", False), "download": ("bool", False), "image_size": ("int", True),
    "val_fraction": ("float", False), "augment": ("bool", False),
    "crop_padding": ("int", True), "erasing": ("float", False),
    "epochs": ("int", True),
    "max_steps": ("int", True), "batch_size": ("int", False), "optimizer": ("str", False),
    "lr": ("float", False), "momentum": ("float", False), "nesterov": ("bool", False),
    "weight_decay": ("float", False), "scheduler": ("str", False),
    "warmup_epochs": ("float", False), "step_size_epochs": ("int", False),
    "step_gamma": ("float", False), "loss": ("str", False), "label_smoothing": ("float", False),
    "grad_clip": ("float", True), "ema": ("float", False), "tta": ("bool", False),
    "device": ("str", False), "amp": ("str", False),
    "channels_last": ("bool", False), "compile": ("bool", False), "cuda_graph": ("bool", False),
    "num_threads": ("int", True), "num_workers": ("int", False), "seed": ("int", False),
    "deterministic": ("bool", False), "log_every": ("int", False),
    "probe_snapshots": ("int", False), "diagnostics_every": ("int", False),
    "tensorboard": ("bool", False), "runs_dir": ("str", True), "run_name": ("str", True),
}
# status.json: the fields the queue, the pages and the CLI read (others are kept, unread).
STATUS_TYPES: dict[str, tuple[str, bool]] = {
    "state": ("str", True), "epoch": ("int", True), "step": ("int", True),
    "total_steps": ("int", True), "steps": ("int", True), "pid": ("int", True),
    "jobs_ahead": ("int", True), "best_val_accuracy": ("float", True),
    "load_per_core": ("float", True),
    "created_at": ("str", True), "queued_at": ("str", True), "started_at": ("str", True),
    "ended_at": ("str", True), "updated_at": ("str", True), "error": ("str", True),
    "host": ("str", True), "server": ("str", True), "executor": ("str", True),
    "where": ("str", True), "imported_from": ("object", True),
}


def check_types(data: dict, table: dict[str, tuple[str, bool]], where: object) -> None:
    """RunError naming the first field of ``data`` whose value is not of its kind in ``table``
    (fields the table does not name are not checked)."""
    for name, (kind, nullable) in table.items():
        if name not in data:
            continue
        value = data[name]
        if value is None and nullable:
            continue
        if isinstance(value, bool) and kind != "bool" or not isinstance(value, KINDS[kind]):
            raise RunError(_("{where}: {name} must be {value}{value2}, found {name__}").format(
                               where=where, name=name, value='a number' if kind == 'float' else kind, value2=' or null' if nullable else '', name__=type(value).__name__))


def check_run(run) -> None:
    """A one-line RunError for the first thing in ``run``'s files that the workbench cannot
    show or queue: config.json and status.json not objects of the right types, a state it does
    not know, a job.json that does not read as a JobFile."""
    config = run.config  # RunError: not JSON, not an object, not a regular file
    status = read_status(run.dir)
    check_types(status, STATUS_TYPES, run.status_path)
    if status.get("state") is not None and status["state"] not in STATES:
        raise RunError(_("{status_path}: state must be one of {names}, found {value}").format(
                           status_path=run.status_path, names=', '.join(STATES), value=f"{status['state'][:40]!r}"))
    if status.get("state") != "imported":  # an import's config is what the other tool kept
        check_types(config, CONFIG_TYPES, run.config_path)
    read_job(run)  # RunError: a field of the wrong type
    for path in [run.dir / METRICS_FILE] + [run.dir / EVAL_DIR / split / name for split in EVAL_SPLITS
                                             for name in EVAL_FILES.values()]:
        check_regular(path)


def check_regular(path, cap: int = MAX_JSONL_BYTES) -> None:
    """RunError when ``path`` exists and is not a regular file of at most ``cap`` bytes (a FIFO
    hangs a reader; a link may lead to /dev/zero). One lstat: no file is opened."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode):
        raise RunError(_("{path} is not a regular file; run files are read only as regular files").format(
                           path=path))
    if info.st_size > cap:
        raise RunError(_("{path} is {value} MiB; run files are read up to {value2} MiB").format(
                           path=path, value=f"{info.st_size / 2 ** 20:,.0f}", value2=f"{cap / 2 ** 20:,.0f}"))
