"""JobManager with real training jobs in real child processes."""

import json
import os
import signal
import time

import pytest

from resnet_core import TrainConfig, load_checkpoint
from resnet_core.jobs.manager import JobManager
from resnet_core.runs.folder import LOG_FILE, read_status

from helpers import wait_for


@pytest.fixture
def manager(tmp_path):
    m = JobManager(tmp_path / "runs")
    yield m
    m.shutdown()
    for job in m.jobs():
        m.wait(job.run_id, timeout=60)


def test_jobs_queue_one_at_a_time_in_separate_folders(manager):
    a = manager.submit(TrainConfig(epochs=2))
    b = manager.submit(TrainConfig(epochs=2, seed=1))
    assert a != b
    wait_for(lambda: read_status(manager.store.path(a)).get("state") == "running")
    assert read_status(manager.store.path(b))["state"] == "queued"  # one job per device
    assert manager.wait(a, 120) and manager.wait(b, 120)
    for run_id in (a, b):
        run = manager.store.get(run_id)
        assert run.status["state"] == "completed", (run.dir / LOG_FILE).read_text()
        assert run.summary("test")["num_samples"] == 359
    sa = read_status(manager.store.path(a))
    sb = read_status(manager.store.path(b))
    assert sa["ended_at"] <= sb["started_at"]  # b waited for a
    assert sa["pid"] != sb["pid"]  # each in its own process


def test_stop_ends_the_run_stopped_with_a_loadable_checkpoint(manager):
    run_id = manager.submit(TrainConfig(epochs=200))
    run_dir = manager.store.path(run_id)
    wait_for(lambda: (run_dir / "metrics.jsonl").exists())
    manager.stop(run_id)
    assert manager.wait(run_id, 60)
    status = read_status(run_dir)
    assert status["state"] == "stopped" and status["step"] < 2000
    ckpt = load_checkpoint(run_dir / "checkpoints" / "last.pt")
    assert ckpt["step"] == status["step"]
    # ... and it resumes to the end through the manager.
    manager.resume(run_id, epochs=2 + status["step"] // 10)
    assert manager.wait(run_id, 120)
    assert read_status(run_dir)["state"] == "completed"


def test_stop_while_queued_never_starts(manager):
    first = manager.submit(TrainConfig(epochs=200))
    second = manager.submit(TrainConfig(epochs=2))
    manager.stop(second)
    assert manager.wait(second, 5)
    assert read_status(manager.store.path(second))["state"] == "stopped"
    manager.stop(first)


def test_a_killed_child_marks_the_run_failed_and_frees_the_slot(manager):
    run_id = manager.submit(TrainConfig(epochs=200))
    queued = manager.submit(TrainConfig(epochs=1))
    run_dir = manager.store.path(run_id)
    wait_for(lambda: (run_dir / "metrics.jsonl").exists())
    job = next(j for j in manager.jobs() if j.run_id == run_id)
    job.process.send_signal(signal.SIGKILL)
    assert manager.wait(run_id, 30)
    status = read_status(run_dir)
    assert status["state"] == "failed"
    assert "killed by SIGKILL" in status["error"]
    assert manager.wait(queued, 120)  # the next job ran
    assert read_status(manager.store.path(queued))["state"] == "completed"


def test_a_failing_config_reports_its_error(manager, tmp_path):
    run_id = manager.submit(TrainConfig(dataset="mnist", data_root=str(tmp_path / "nowhere"), epochs=1))
    assert manager.wait(run_id, 60)
    status = read_status(manager.store.path(run_id))
    assert status["state"] == "failed" and "not found" in status["error"]


def test_runs_left_running_by_a_dead_app_become_interrupted(tmp_path):
    run_dir = tmp_path / "runs" / "old-run"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(TrainConfig().to_dict()))
    (run_dir / "status.json").write_text(json.dumps({"state": "running", "pid": 2**22 + 7,
                                                     "host": __import__("socket").gethostname()}))
    JobManager(tmp_path / "runs")
    assert read_status(run_dir)["state"] == "interrupted"


def test_job_threads_leave_a_core_to_the_server_and_never_oversubscribe():
    from resnet_core.jobs.capacity import job_threads

    assert job_threads(1, cores=2) == 2  # measured: one thread is slower on 2 cores
    assert job_threads(1, cores=8) == 7
    assert job_threads(2, cores=8) == 3
    assert job_threads(4, cores=2) == 1


def test_the_servers_thread_cap_and_affinity_bound_its_childrens_threads(monkeypatch):
    from resnet_core.jobs.capacity import job_threads, usable_cores

    cores = len(os.sched_getaffinity(0))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert usable_cores() == cores
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # a server started with one thread per process
    assert usable_cores() == 1 and job_threads(1) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "999")  # a cap above the cores changes nothing
    assert usable_cores() == cores
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")
    assert usable_cores() == cores


@pytest.mark.slow
def test_a_warm_child_takes_the_job_and_is_replaced_after_it(tmp_path):
    """The first job goes to the child that imported torch before the click; its output still
    lands in the run's train.log; a new warm child waits for the next job."""
    manager = JobManager(tmp_path / "runs", warm_worker=True)
    wait_for(lambda: manager.executor.waiting_child is not None)
    first_warm = manager.executor.waiting_child.pid
    run_id = manager.submit(TrainConfig(epochs=1))
    assert manager.wait(run_id, 120)
    job = next(j for j in manager.jobs() if j.run_id == run_id)
    assert job.warm and job.process.pid == first_warm
    run_dir = manager.store.path(run_id)
    assert read_status(run_dir)["state"] == "completed", (run_dir / LOG_FILE).read_text()
    assert (run_dir / LOG_FILE).exists()
    wait_for(lambda: manager.executor.waiting_child is not None
             and manager.executor.waiting_child.pid != first_warm, 30)
    replacement = manager.executor.waiting_child
    manager.shutdown()
    assert replacement.wait(30) == 0  # end of input: it exits without training


@pytest.mark.parametrize("warm", [True, False])
def test_a_child_that_completed_its_run_exits_cleanly(tmp_path, warm):
    """Every training child used to end in "Fatal Python error: _enter_buffered_busy ... <stdin>
    at interpreter shutdown" and exit -6 (SIGABRT) after writing its run completed: its
    supervisor-watch thread sat inside sys.stdin's buffered reader."""
    manager = JobManager(tmp_path / "runs", warm_worker=warm)
    try:
        if warm:
            wait_for(lambda: manager.executor.waiting_child is not None)
        run_id = manager.submit(TrainConfig(epochs=1))
        assert manager.wait(run_id, 120)
        job = next(j for j in manager.jobs() if j.run_id == run_id)
        log = (manager.store.path(run_id) / LOG_FILE).read_text()
        assert job.warm is warm
        assert read_status(manager.store.path(run_id))["state"] == "completed", log
        assert "Fatal Python error" not in log, log[-600:]
        assert job.returncode == 0, log[-600:]
    finally:
        manager.shutdown()


@pytest.mark.slow
def test_without_a_warm_child_a_fresh_interpreter_trains(tmp_path):
    manager = JobManager(tmp_path / "runs", warm_worker=False)
    run_id = manager.submit(TrainConfig(epochs=1))
    assert manager.wait(run_id, 120)
    job = manager.jobs()[0]
    assert not job.warm and read_status(manager.store.path(run_id))["state"] == "completed"


@pytest.mark.slow
def test_the_manager_runs_a_job_under_torchrun_with_two_processes(manager):
    """What the Train page's "GPUs: N" does, on the CPU: torchrun (standalone) with 2 gloo
    processes; the run shows live, Stop reaches every rank, and resume keeps the world size."""
    run_id = manager.submit(TrainConfig(epochs=60, device="cpu", log_every=5), processes=2)
    run_dir = manager.store.path(run_id)
    seen = set()
    wait_for(lambda: (run_dir / "metrics.jsonl").exists(), 180)
    deadline = time.monotonic() + 120
    while len(seen) < 2 and time.monotonic() < deadline:  # live: the step moves
        lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
        seen |= {x["step"] for x in lines if x["split"] == "train"}
        time.sleep(0.3)
    assert len(seen) >= 2
    assert json.loads((run_dir / "config.json").read_text())["world_size"] == 2
    manager.stop(run_id)
    assert manager.wait(run_id, 120)
    status = read_status(run_dir)
    assert status["state"] == "stopped", (run_dir / LOG_FILE).read_text()[-2000:]
    assert load_checkpoint(run_dir / "checkpoints" / "last.pt")["step"] == status["step"]
    job = next(j for j in manager.jobs() if j.run_id == run_id)
    assert job.processes == 2 and not job.warm


def test_more_processes_than_the_machine_has_is_a_one_line_error(manager):
    from resnet_core import RunError

    with pytest.raises(RunError, match="processes asked for but this machine has"):
        manager.submit(TrainConfig(device="cpu"), processes=999)
    with pytest.raises(RunError, match="must be divisible by the 2 processes"):
        manager.submit(TrainConfig(device="cpu", batch_size=127), processes=2)
