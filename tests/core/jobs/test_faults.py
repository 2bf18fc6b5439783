"""The fault matrix of issue 7: each fault with the outcome a user relies on.

(Also covered elsewhere: a torn metrics line, tests/core/runs/test_runs.py; non-finite loss,
tests/core/training/test_training.py; corrupt, truncated and malicious checkpoints,
tests/core/training/test_checkpoint.py and tests/app/test_pages.py; a SIGKILLed dashboard child,
tests/core/jobs/test_jobs.py.)
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from resnet_core import Callback, TrainConfig, TrainingFailed, load_checkpoint, resume, train
from resnet_core.errors import CheckpointError
from resnet_core.jobs.manager import JobManager
from resnet_core.runs.folder import read_status
from resnet_core.runs.jsonl import read_jsonl
from resnet_core.runs.store import RunStore

from helpers import run_cli, wait_for


def assert_metrics_intact(run_dir: Path) -> list[dict]:
    """Every line parses; train steps strictly increase; one val line per epoch."""
    text = (run_dir / "metrics.jsonl").read_text()
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]
    steps = [m["step"] for m in lines if m["split"] == "train"]
    assert steps == sorted(set(steps)), "duplicated or out-of-order train lines"
    val_epochs = [m["epoch"] for m in lines if m["split"] == "val"]
    assert val_epochs == list(range(1, len(val_epochs) + 1)), val_epochs
    return lines


def test_sigkill_mid_epoch_then_resume_completes_with_intact_metrics(tmp_path):
    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "resnet_core", "train", "--epochs", "12",
                             "--log-every", "2", "--quiet", "--runs-dir", str(runs)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Wait until epoch 3 is under way (two checkpoints written, train lines of epoch 3 logged).
    def in_epoch_3():
        lines = [r for p in runs.glob("*/metrics.jsonl") for r in read_jsonl(p)]
        return any(r["split"] == "train" and r["epoch"] == 3 for r in lines)
    wait_for(in_epoch_3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    (run,) = RunStore(runs).runs()
    assert run.status["state"] == "interrupted"  # its process is gone: shown as interrupted
    saved = load_checkpoint(run.checkpoint_path("last"))
    assert saved["epoch"] >= 2  # at most the partial epoch is lost
    result = run_cli("train", "--resume", str(run.dir), "--quiet")
    assert result.returncode == 0, result.stderr
    assert read_status(run.dir)["state"] == "completed"
    lines = assert_metrics_intact(run.dir)
    assert max(m["step"] for m in lines if m["split"] == "train") == run.config["total_steps"]
    assert [m for m in lines if m["split"] == "test"]


@pytest.mark.parametrize("fault", ["disk full", "read-only folder"])
def test_failed_checkpoint_save_fails_the_run_naming_the_path_and_keeps_the_previous_one(
        tmp_path, monkeypatch, fault):
    import resnet_core.atomic as atomic

    real_replace, calls = os.replace, {"n": 0}

    def failing_replace(src, dst):
        if str(dst).endswith("last.pt"):
            calls["n"] += 1
            if calls["n"] == 2:  # the second epoch's save
                os.unlink(src)
                if fault == "disk full":
                    raise OSError(errno.ENOSPC, "No space left on device")
                raise PermissionError(errno.EROFS, "Read-only file system")
        return real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(CheckpointError) as err:
        train(TrainConfig(dataset="digits", epochs=4, probe_snapshots=0, runs_dir=str(tmp_path)),
              progress=False)
    (run,) = RunStore(tmp_path).runs()
    last = run.dir / "checkpoints" / "last.pt"
    assert f"could not write checkpoint {last}" in str(err.value)
    assert ("No space left" if fault == "disk full" else "Read-only") in str(err.value)
    assert run.status["state"] == "failed" and str(last) in run.status["error"]
    assert load_checkpoint(last)["epoch"] == 1  # the previous checkpoint is intact
    assert not list((run.dir / "checkpoints").glob(".*.tmp"))  # no temporary file left


class RaiseAt(Callback):
    def __init__(self, step: int, error: BaseException) -> None:
        self.step, self.error = step, error

    def on_step_end(self, state, logs):
        if state.step == self.step:
            raise self.error


@pytest.mark.parametrize("error", [torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"),
                                   RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. "
                                                "DefaultCPUAllocator: not enough memory")])
def test_out_of_memory_fails_the_run_suggesting_a_smaller_batch(tmp_path, error):
    with pytest.raises(TrainingFailed, match="out of memory on cpu at batch size 128; try a smaller --batch-size"):
        train(TrainConfig(dataset="digits", epochs=3, runs_dir=str(tmp_path)), progress=False,
              callbacks=[RaiseAt(14, error)])
    (run,) = RunStore(tmp_path).runs()
    assert run.status["state"] == "failed" and "smaller --batch-size" in run.status["error"]
    assert load_checkpoint(run.checkpoint_path("last"))["epoch"] == 1  # last good checkpoint kept


SITECUSTOMIZE = '''
import torch
from resnet_core.training import loop as training
_step = training.Trainer._train_step
def _train_step(self, x, y):
    if self.config.run_name == "oom" and self.state.step == 5:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    return _step(self, x, y)
training.Trainer._train_step = _train_step
'''


def test_out_of_memory_in_a_dashboard_job_frees_the_slot_and_the_next_job_runs(tmp_path, monkeypatch):
    """The fault is injected into the real child process through sitecustomize."""
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(SITECUSTOMIZE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(inject), os.environ.get("PYTHONPATH", "")]))
    manager = JobManager(tmp_path / "runs", max_running_per_device=1)
    try:
        oom = manager.submit(TrainConfig(dataset="digits", epochs=2, run_name="oom"))
        ok = manager.submit(TrainConfig(dataset="digits", epochs=2, run_name="ok"))
        manager.wait(oom, timeout=120)
        manager.wait(ok, timeout=120)
    finally:
        manager.shutdown()
    store = RunStore(tmp_path / "runs")
    failed, done = store.get(oom).status, store.get(ok).status
    assert failed["state"] == "failed", failed
    assert "out of memory" in failed["error"] and "smaller --batch-size" in failed["error"]
    assert done["state"] == "completed"


class StopWhen(Callback):
    """Sets the stop flag from inside an evaluation or right after a checkpoint is written."""

    def __init__(self, stop: threading.Event, when: str) -> None:
        self.stop, self.when, self.fired = stop, when, False

    def on_eval_end(self, state, split, logs):
        if self.when == "evaluation" and split == "val" and state.epoch == 2:
            self.stop.set()

    def on_checkpoint(self, state, path):
        if self.when == "checkpoint" and path.name == "last.pt" and state.epoch == 2:
            self.stop.set()


@pytest.mark.parametrize("when", ["evaluation", "checkpoint"])
def test_stop_during_evaluation_or_checkpoint_stops_cleanly_and_resumes(tmp_path, when):
    stop = threading.Event()
    run = train(TrainConfig(dataset="digits", epochs=5, probe_snapshots=0, runs_dir=str(tmp_path)),
                progress=False, stop=stop, callbacks=[StopWhen(stop, when)])
    assert run.status["state"] == "stopped"
    ckpt = load_checkpoint(run.checkpoint_path("last"))
    per_epoch = run.config["steps_per_epoch"]
    assert ckpt["epoch"] == 2 and ckpt["step"] == 2 * per_epoch + 1  # stopped after the next step
    assert_metrics_intact(run.dir)
    finished = resume(run.dir, progress=False)
    assert finished.status["state"] == "completed" and finished.status["step"] == 5 * per_epoch
    assert_metrics_intact(run.dir)


@pytest.mark.slow  # 25-55 s: CI runs it with the slow checks; the default run stays under 10 min
def test_two_sessions_pressing_train_at_the_same_moment_get_separate_runs(tmp_path):
    manager = JobManager(tmp_path / "runs")
    barrier, ids = threading.Barrier(4), []

    def press():
        barrier.wait()
        ids.append(manager.submit(TrainConfig(dataset="digits", max_steps=15, probe_snapshots=0)))

    threads = [threading.Thread(target=press) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for run_id in ids:
            manager.wait(run_id, timeout=120)
    finally:
        manager.shutdown()
    runs = RunStore(tmp_path / "runs").runs()
    assert len(set(ids)) == 4 and sorted(r.id for r in runs) == sorted(ids)
    for run in runs:
        assert run.status["state"] == "completed" and run.status["step"] == 15
        assert_metrics_intact(run.dir)

