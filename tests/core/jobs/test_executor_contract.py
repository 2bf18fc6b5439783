"""The executor contract (issue 30): the same tests on every executor.

The executor under test is ``RESNET_WORKBENCH_EXECUTOR`` (default local). tests/cluster/test_ray.py and
test_slurm.py run this file again, in a private network namespace, against a real local Ray head and a
real single-node Slurm; run alone it checks the local executor. What each test promises:
submit and watch live metrics; Stop with a reason; the carrier killed mid-run (the child
itself locally, the Ray worker, the Slurm job) leaves the run resumable with a reason, and
Resume ends with the weights of an uninterrupted run; the queue never releases more runs
than the executor has slots (8 jobs, 2 slots); a sweep's trials go through the executor.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from resnet_core import RunStore, TrainConfig
from resnet_core.jobs.manager import JobManager
from resnet_core.runs.folder import SERVER_GONE, Run, read_status
from resnet_core.runs.jsonl import read_jsonl
from resnet_core.training.checkpoint import load_checkpoint

from helpers import leave_ray_driver, wait_for

pytestmark = pytest.mark.slow
EXECUTOR = os.environ.get("RESNET_WORKBENCH_EXECUTOR", "local")
# What a killed carrier leaves: locally the child itself is what dies (failed, with the
# signal); on a cluster the executor reports it lost (interrupted, with why).
KILLED_STATE = {"local": "failed"}.get(EXECUTOR, "interrupted")


def config(runs: Path, **fields) -> TrainConfig:
    return TrainConfig(**{"dataset": "digits", "arch": "resnet20", "epochs": 3, "seed": 3,
                          "device": "cpu", "runs_dir": str(runs), **fields})


@pytest.fixture
def manager(tmp_path):
    jobs = JobManager(tmp_path / "runs", max_running_per_device=2, warm_worker=False,
                      executor=EXECUTOR)
    yield jobs
    jobs.close(timeout=60)


@pytest.fixture(scope="module", autouse=True)
def _leave_ray_after_the_module():
    yield
    leave_ray_driver()


def metric_lines(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    return list(read_jsonl(path)) if path.exists() else []


def test_a_run_trains_through_the_executor_with_live_metrics(manager):
    assert manager.executor.name == EXECUTOR
    run_id = manager.submit(config(manager.store.root, epochs=6))
    run_dir = manager.store.path(run_id)
    # Live: metric lines appear while the run is still running.
    wait_for(lambda: read_status(run_dir)["state"] == "running" and metric_lines(run_dir), 180)
    assert manager.wait(run_id, 300)
    status = read_status(run_dir)
    assert status["state"] == "completed", status
    if EXECUTOR != "local":
        assert status["executor"] == EXECUTOR and status["where"]
    assert any(line["split"] == "test" for line in metric_lines(run_dir))


def test_stop_with_a_reason_on_any_executor(manager):
    run_id = manager.submit(config(manager.store.root, epochs=60))
    run_dir = manager.store.path(run_id)
    wait_for(lambda: metric_lines(run_dir), 180)
    manager.stop(run_id, "the teacher stopped it")
    assert manager.wait(run_id, 120)
    status = read_status(run_dir)
    assert status["state"] == "stopped" and status["error"] == "the teacher stopped it"
    assert (run_dir / "checkpoints" / "last.pt").exists()


def kill_the_carrier(run_dir: Path) -> None:
    """What a dead machine does to a run: locally SIGKILL its child; on Ray SIGKILL the worker
    process that runs its task (the child's parent); on Slurm scancel its job."""
    status = read_status(run_dir)
    pid = int(status["pid"])
    if EXECUTOR == "local":
        os.kill(pid, signal.SIGKILL)
    elif EXECUTOR == "ray":
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        os.kill(parent, signal.SIGKILL)
    else:
        subprocess.run(["scancel", status["where"].split()[-1]], check=True, timeout=30)


def test_a_killed_carrier_leaves_the_run_resumable_and_resume_is_bit_exact(manager):
    # The reference trains uninterrupted on the same executor (the same threads per child:
    # a different thread count sums in a different order, and bit-exact means the same order).
    straight = manager.submit(config(manager.store.root, epochs=8))
    assert manager.wait(straight, 300)
    run_id = manager.submit(config(manager.store.root, epochs=8))
    run_dir = manager.store.path(run_id)
    # Under way in epoch 3: two checkpoints written.
    wait_for(lambda: any(m["split"] == "train" and m["epoch"] == 3 for m in metric_lines(run_dir)), 240)
    kill_the_carrier(run_dir)
    assert manager.wait(run_id, 120)
    status = read_status(run_dir)
    assert status["state"] == KILLED_STATE and status["error"], status
    manager.resume(run_id)
    assert manager.wait(run_id, 300)
    assert read_status(run_dir)["state"] == "completed"
    wa = load_checkpoint(manager.store.path(straight) / "checkpoints" / "last.pt")["model"]
    wb = load_checkpoint(run_dir / "checkpoints" / "last.pt")["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_eight_jobs_on_two_slots_never_run_more_than_two(manager):
    # Four rounds of two: each slot is released and taken again three times. (It was twenty
    # jobs; each costs a process start, and the contract runs three times in CI.)
    assert manager.executor.slots("cpu") == 2
    ids = [manager.submit(config(manager.store.root, epochs=None, max_steps=2, seed=i))
           for i in range(8)]
    most, done = 0, threading.Event()

    def watch() -> None:
        nonlocal most
        while not done.is_set():
            running = sum(read_status(manager.store.path(i)).get("state") == "running" for i in ids)
            most = max(most, running, manager.counts()["running"])
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for run_id in ids:
            assert manager.wait(run_id, 600)
    finally:
        done.set()
        watcher.join()
    assert most == 2, most  # both slots used, never a third
    assert [read_status(manager.store.path(i))["state"] for i in ids] == ["completed"] * 8


def test_a_sweeps_trials_go_through_the_executor(manager):
    from resnet_core.sweeps.runner import SweepRunner
    from resnet_core.sweeps.study import SweepConfig, create_sweep

    sweep = create_sweep(manager.store.root, SweepConfig(
        params=["lr=log:0.01:0.5"], trials=4, parallel=2, pruner="none", sampler="random",
        base=config(manager.store.root, epochs=1)))
    SweepRunner(sweep, manager).run()
    runs = [r for r in RunStore(manager.store.root).runs() if r.job.sweep is not None]
    assert len(runs) == 4 and all(r.status["state"] == "completed" for r in runs)
    if EXECUTOR != "local":
        assert {r.status["executor"] for r in runs} == {EXECUTOR}


def test_two_runs_side_by_side_and_a_closing_server_leaves_them_stopped_and_resumable(manager):
    """What SIGTERM to the app does (its lifespan closes the Workbench, so the manager): the
    runs training on the executor checkpoint and stop with the reason, none is left training
    without a server, and each resumes to completion."""
    ids = [manager.submit(config(manager.store.root, epochs=60, seed=i)) for i in range(2)]
    dirs = [manager.store.path(i) for i in ids]
    # Side by side: both running at once on the two slots, each with metric lines.
    wait_for(lambda: all(read_status(d)["state"] == "running" and metric_lines(d) for d in dirs), 240)
    manager.close(timeout=120)
    for run_dir in dirs:
        status = read_status(run_dir)
        assert status["state"] == "stopped" and status["error"] == SERVER_GONE, status
        assert (run_dir / "checkpoints" / "last.pt").exists()
    # None orphaned: the training processes are gone, and the runs stay as they were.
    time.sleep(2)
    for run_dir in dirs:
        assert not Path(f"/proc/{read_status(run_dir)['pid']}").exists()
        assert read_status(run_dir)["state"] == "stopped"
    again = JobManager(manager.store.root, max_running_per_device=2, warm_worker=False, executor=EXECUTOR)
    try:
        # Past where each one's last checkpoint stands: a stop can land on an epoch's last
        # step before the epoch's end is counted (status epoch k, checkpoint at the end of
        # k + 1), so "one epoch more" is k + 2 (with k + 1 a loaded CI once found the budget
        # already spent: failed).
        for run_id in ids:
            again.resume(run_id, epochs=int(read_status(again.store.path(run_id)).get("epoch") or 0) + 2)
        for run_id in ids:
            assert again.wait(run_id, 300)
            status = read_status(again.store.path(run_id))
            assert status["state"] == "completed", (status, Run(again.store.path(run_id)).log_path.read_text()[-1500:])
    finally:
        again.close(timeout=60)


# A server in its own process: it submits one long run, says the run's id, and waits to be killed.
SERVER = """
import sys, time
from resnet_core import TrainConfig
from resnet_core.jobs.manager import JobManager
jobs = JobManager(sys.argv[1], max_running_per_device=2, warm_worker=False, executor=sys.argv[2])
print(jobs.submit(TrainConfig(dataset="digits", arch="resnet20", epochs=60, seed=3, device="cpu",
                              runs_dir=sys.argv[1])), flush=True)
time.sleep(3600)
"""


@pytest.mark.skipif(EXECUTOR == "local", reason="a local child dies with its server (its stdin)")
def test_a_new_server_stops_what_a_killed_one_left_training_on_the_cluster(tmp_path):
    """A server killed with -9 leaves its released runs on the cluster (a Slurm job outlives
    its submitter). The next server on the folder stops them (STOP, a checkpoint) before it
    lets anyone resume them, so no run is ever trained by two processes."""
    runs = tmp_path / "runs"
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(runs), EXECUTOR],
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[3])
    try:
        run_id = server.stdout.readline().strip()
        run_dir = RunStore(runs).path(run_id)
        # Past its first checkpoint: Ray ends a driver's tasks with the driver, so a run killed
        # before its first epoch ended has nothing to resume from (it failed the contract in
        # CI when the kill came after the first metric line but before the first last.pt).
        wait_for(lambda: metric_lines(run_dir) and (run_dir / "checkpoints" / "last.pt").exists(), 180)
    finally:
        server.kill()  # SIGKILL: no close, no stop; the kernel drops its folder lock
        server.wait(30)
    successor = JobManager(runs, max_running_per_device=2, warm_worker=False, executor=EXECUTOR)
    try:
        status = read_status(run_dir)
        assert status["state"] in ("stopped", "interrupted") and status["error"], status
        assert (run_dir / "checkpoints" / "last.pt").exists()
        successor.resume(run_id, epochs=int(status.get("epoch") or 0) + 2)  # as above: past its checkpoint
        assert successor.wait(run_id, 300)
        assert read_status(run_dir)["state"] == "completed"
    finally:
        successor.close(timeout=60)
