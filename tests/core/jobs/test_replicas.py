"""Issue 40: several app processes (replicas) on one runs folder. Exactly one owns the queue;
a run another replica queues is trained by it; when the owner is killed mid-run, another
replica owns the queue within 10 s and the run resumes from its checkpoint and completes,
trained by one process at a time. Real processes and real training children."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from resnet_core import TrainConfig
from resnet_core.jobs.manager import JobManager
from resnet_core.runs.folder import read_status
from resnet_core.runs.jobfile import Owner

from helpers import wait_for

OWNER = """
import sys, time
from resnet_core.jobs.manager import JobManager
from resnet_core import TrainConfig
jobs = JobManager(sys.argv[1], replica=True, warm_worker=False)
assert jobs.owns_queue
if len(sys.argv) > 2:
    print(jobs.submit(TrainConfig(dataset="digits", arch="resnet20", epochs=int(sys.argv[2]), seed=2,
                                  runs_dir=sys.argv[1])), flush=True)
else:
    print("owner", flush=True)
time.sleep(600)
"""


def start_owner(runs, *args) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(OWNER), str(runs), *map(str, args)],
                               stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().strip()


def config(runs, **kw) -> TrainConfig:
    return TrainConfig(**{"dataset": "digits", "arch": "resnet8", "epochs": 2, "seed": 1,
                          "runs_dir": str(runs), **kw})


def test_a_run_queued_on_a_replica_is_trained_by_the_queues_owner(tmp_path):
    runs = tmp_path / "runs"
    owner, said = start_owner(runs)
    assert said == "owner"
    standby = JobManager(runs, replica=True, warm_worker=False)
    try:
        assert not standby.owns_queue and standby.read_only is None  # not refused: handed over
        run_id = standby.submit(config(runs), owner=Owner("s-1", "Ada"))
        later = standby.submit(config(runs, epochs=2000), owner=Owner("s-2", "Grace"))
        third = standby.submit(config(runs), owner=Owner("s-3", "Linus"))
        assert standby.counts()["queued"] + standby.counts()["running"] >= 1
        # Through the folder too: the owner drops it from its queue, or its child stops at its
        # first step if it started meanwhile.
        standby.stop(later, "the teacher needs the machine")
        wait_for(lambda: all(read_status(runs / r).get("state") == "completed" for r in (run_id, third)),
                 timeout=120)
        status = read_status(runs / run_id)
        assert status["pid"] != os.getpid() and status["server"] != standby.instance  # the owner's
        stopped = read_status(runs / later)
        assert stopped["state"] == "stopped" and stopped["error"] == "the teacher needs the machine"
    finally:
        standby.close()
        owner.kill()
        owner.wait()


def test_killing_the_queues_owner_mid_run_hands_the_queue_and_the_run_to_another(tmp_path):
    runs = tmp_path / "runs"
    owner, run_id = start_owner(runs, 6)
    standby = JobManager(runs, replica=True, warm_worker=False)
    try:
        assert not standby.owns_queue
        wait_for(lambda: (read_status(runs / run_id).get("epoch") or 0) >= 2, timeout=120)
        killed_at = time.monotonic()
        os.kill(owner.pid, signal.SIGKILL)  # no goodbye: its child sees its stdin close
        owner.wait()
        wait_for(lambda: standby.owns_queue, timeout=10)
        took = time.monotonic() - killed_at
        wait_for(lambda: read_status(runs / run_id).get("state") == "completed", timeout=180)
        status = read_status(runs / run_id)
        assert status["server"] == standby.instance and status["epoch"] == 6
        lines = [json.loads(x) for x in (runs / run_id / "metrics.jsonl").read_text().splitlines()]
        steps = [m["step"] for m in lines if m["split"] == "train"]
        assert steps == sorted(set(steps))  # resumed from its checkpoint: no step twice
        assert took < 10, took
        print(json.dumps({"took_over_s": round(took, 2)}))
    finally:
        standby.close()
        if owner.poll() is None:
            owner.kill()


@pytest.fixture(autouse=True)
def _no_warm_worker(monkeypatch):
    monkeypatch.setenv("RESNET_WORKBENCH_WARM_WORKER", "0")


def test_a_cli_train_and_sweep_beside_a_running_server_go_to_its_queue(tmp_path):
    """Issue 40: `train --executor local` and `sweep` on the runs folder of a running server
    (here one app process, no replicas) are no longer refused as read-only: their runs are
    handed to the server's queue through the folder, the server trains them, and the CLI
    follows them to their end as before."""
    from helpers import run_cli

    runs = tmp_path / "runs"
    server = JobManager(runs, warm_worker=False)  # the app's queue: it owns the folder
    try:
        assert server.owns_queue
        tiny = ["--dataset", "digits", "--arch", "resnet20", "--runs-dir", str(runs)]
        done = run_cli("train", "--executor", "local", "--epochs", "1", "--quiet", *tiny)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "queued" in done.stderr and "the queue of the server that runs" in done.stderr
        run_dir = done.stdout.strip().splitlines()[-1]
        status = read_status(run_dir)
        assert status["state"] == "completed" and status["server"] == server.instance  # trained by the server
        swept = run_cli("sweep", "--param", "lr=log:0.01:0.1", "--trials", "2", "--epochs", "1", "--quiet", *tiny)
        assert swept.returncode == 0, swept.stderr[-2000:]
        assert "a server runs the queue of" in swept.stderr
        trials = [read_status(p) for p in runs.iterdir() if p.is_dir() and (p / "job.json").exists()
                  and json.loads((p / "job.json").read_text()).get("sweep")]
        assert len(trials) == 2 and {t["state"] for t in trials} == {"completed"}
        assert {t["server"] for t in trials} == {server.instance}
    finally:
        server.close()
