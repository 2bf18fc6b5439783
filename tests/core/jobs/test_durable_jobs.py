"""Nothing lost across restarts (issue 14): the queue lives in the run folders, one server per
runs folder, an orderly close, and children that stop when their supervisor dies."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from resnet_core import RunError, TrainConfig, load_checkpoint
from resnet_core.atomic import atomic_write_json
from resnet_core.jobs.manager import JobManager
from resnet_core.runs.folder import Run, create_run_dir, read_status, write_status

from helpers import wait_for


def _left_by_a_gone_server(root, **status) -> Run:
    """A run folder that a server that died left behind, its status naming that server."""
    run = Run(create_run_dir(root, "digits", "resnet20"))
    atomic_write_json(run.config_path, TrainConfig(max_steps=12, probe_snapshots=0).to_dict())
    atomic_write_json(run.job_path, {"resume": False})
    write_status(run.dir, host=socket.gethostname(), server="a-server-that-is-gone", **status)
    return run


def _queued_by_a_gone_server(root, queued_at: str, pid: int = 1) -> Run:
    """What a server that died left behind: a queued run that names it (pid 1, as the next
    server in a container is process 1 again)."""
    return _left_by_a_gone_server(root, state="queued", created_at=queued_at, queued_at=queued_at, pid=pid)


def test_queued_runs_of_a_gone_server_run_again_in_their_order(tmp_path):
    root = tmp_path / "runs"
    later = _queued_by_a_gone_server(root, "2026-01-01T10:00:05+00:00")
    earlier = _queued_by_a_gone_server(root, "2026-01-01T10:00:01+00:00")
    manager = JobManager(root)  # pid 1 may be alive (it is, in a container): no matter
    try:
        assert manager.wait(earlier.id, 120) and manager.wait(later.id, 120)
    finally:
        manager.shutdown()
    first, second = read_status(earlier.dir), read_status(later.dir)
    assert first["state"] == second["state"] == "completed"
    assert first["started_at"] <= second["started_at"]


def test_a_new_server_does_not_wait_out_a_cluster_run_whose_process_is_gone(tmp_path):
    """A server killed with -9 left a run released to a cluster; its process on this host
    then ends without writing how, as a Ray worker does when its driver dies. The next server
    asks it to stop, sees its process gone, and marks it interrupted (resumable) at once, not
    after the 60 s it gives a living one to checkpoint; no STOP file is left behind for the
    resume to stop on."""
    root = tmp_path / "runs"
    carrier = subprocess.Popen(["sleep", "2"])
    threading.Thread(target=carrier.wait, daemon=True).start()  # reaped when it ends
    run = _left_by_a_gone_server(root, state="running", executor="ray", pid=carrier.pid)
    start = time.monotonic()
    manager = JobManager(root, warm_worker=False)
    waited = time.monotonic() - start
    try:
        status = read_status(run.dir)
        assert status["state"] == "interrupted", status
        assert not run.stop_path.exists()
        assert waited < 30, f"waited {waited:.1f} s for a process that was gone after 2 s"
    finally:
        manager.close()


def test_a_second_server_on_the_same_runs_folder_is_read_only(tmp_path):
    first = JobManager(tmp_path / "runs")
    second = JobManager(tmp_path / "runs")
    try:
        assert first.read_only is None
        assert "read-only" in second.read_only and f"pid {os.getpid()}" in second.read_only
        with pytest.raises(RunError, match="another workbench server .* this one is read-only"):
            second.submit(TrainConfig())
    finally:
        second.close()
        first.close()
    third = JobManager(tmp_path / "runs")  # the lock went with the first
    assert third.read_only is None
    third.close()


@pytest.mark.slow
def test_close_checkpoints_the_running_job_and_the_next_server_runs_the_queued_ones(tmp_path):
    root = tmp_path / "runs"
    manager = JobManager(root)
    running = manager.submit(TrainConfig(epochs=200))
    queued = [manager.submit(TrainConfig(max_steps=12, probe_snapshots=0)) for _ in range(2)]
    wait_for(lambda: (root / running / "metrics.jsonl").exists())
    manager.close()
    status = read_status(root / running)
    assert status["state"] == "stopped" and "the app stopped" in status["error"]
    assert load_checkpoint(root / running / "checkpoints" / "last.pt")["step"] == status["step"]
    assert [read_status(root / q)["state"] for q in queued] == ["queued", "queued"]
    restarted = JobManager(root)
    try:
        assert all(restarted.wait(q, 120) for q in queued)
    finally:
        restarted.shutdown()
    assert [read_status(root / q)["state"] for q in queued] == ["completed", "completed"]


SUPERVISOR = """
import sys, time
from resnet_core import TrainConfig
from resnet_core.jobs.manager import JobManager
m = JobManager(sys.argv[1])
print(m.submit(TrainConfig(epochs=200)), flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_a_child_whose_supervisor_is_killed_checkpoints_and_stops(tmp_path):
    root = tmp_path / "runs"
    server = subprocess.Popen([sys.executable, "-c", SUPERVISOR, str(root)],
                              stdout=subprocess.PIPE, text=True)
    run_dir = root / server.stdout.readline().strip()
    wait_for(lambda: (run_dir / "metrics.jsonl").exists())
    child_pid = json.loads((run_dir / "status.json").read_text())["pid"]
    server.send_signal(signal.SIGKILL)
    server.wait(10)
    wait_for(lambda: read_status(run_dir)["state"] != "running", 60)
    status = read_status(run_dir)
    assert status["state"] == "stopped", status
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == status["step"]
    wait_for(lambda: not os.path.exists(f"/proc/{child_pid}")
              or open(f"/proc/{child_pid}/stat").read().split()[2] == "Z", 30)


def _serve(root, port):
    from e2e import ROOT

    return subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless",
                             "true", "--server.port", str(port)], cwd=ROOT,
                            env={**os.environ, "RESNET_WORKBENCH_RUNS": str(root)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_sigterm_to_the_app_mid_run_then_a_restart_runs_the_queued_two_by_itself(tmp_path):
    """No visitor and no click: the app starts the queue when it starts (its lifespan), stops
    the running child with a checkpoint on SIGTERM, and the next server runs the rest."""
    from e2e import free_port

    root = tmp_path / "runs"
    long = _queued_by_a_gone_server(root, "2026-01-01T10:00:00+00:00")
    atomic_write_json(long.config_path, TrainConfig(epochs=200).to_dict())
    rest = [_queued_by_a_gone_server(root, f"2026-01-01T10:00:0{i}+00:00") for i in (1, 2)]
    server = _serve(root, free_port())
    try:
        wait_for(lambda: long.metrics_path.exists(), 120)
        child = read_status(long.dir)["pid"]
        server.send_signal(signal.SIGTERM)
        server.wait(90)
    finally:
        server.kill()
    status = read_status(long.dir)
    assert status["state"] == "stopped" and "resume it" in status["error"]
    assert load_checkpoint(long.checkpoint("last"))["step"] == status["step"]
    assert not os.path.exists(f"/proc/{child}") or \
        open(f"/proc/{child}/stat").read().split()[2] == "Z"  # no child left training
    assert [read_status(r.dir)["state"] for r in rest] == ["queued", "queued"]
    server = _serve(root, free_port())
    try:
        wait_for(lambda: all(read_status(r.dir)["state"] == "completed" for r in rest), 180)
    finally:
        server.terminate()
        server.wait(60)
