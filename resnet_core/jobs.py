"""Background training jobs: a queue, one supervising thread per job, the training in a child process.

Why a child process (DESIGN.md): a training loop in a thread of the Streamlit server ran at
0.32x-0.85x of the CLI, because every page rerun competes for the interpreter lock; in its
own process it keeps its speed, a crash or an out-of-memory kill cannot take the app down,
and GPU memory is returned when it ends.

Everything a page needs is in the run folder (status.json, metrics.jsonl), so any number of
browser tabs see the same jobs, and a run started from the CLI looks the same. The manager
holds only what a folder cannot: the queue and the child processes. No Streamlit in here.

The child is ``python -m resnet_core.jobs RUN_DIR``: it trains the config.json already in
the folder, or resumes from the last checkpoint when asked to.
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import atomic_write_json
from .config import TrainConfig, resolve_device
from .errors import RunError
from .runs import (
    ACTIVE_STATES,
    LOG_FILE,  # noqa: F401 - re-exported: the child's output, for runs launched here
    Run,
    RunStore,
    create_run_dir,
    now_iso,
    read_json,
    read_status,
)

THREADS_ENV = "RESNET_WORKBENCH_JOB_THREADS"  # CPU threads per child, set by the manager


@dataclass
class Job:
    run_id: str
    run_dir: Path
    device: str  # "cpu" or "cuda": jobs queue per device
    resume: bool = False
    state: str = "queued"  # queued | running | finished (the run's own state is in status.json)
    process: subprocess.Popen | None = field(default=None, repr=False)
    returncode: int | None = None


class JobManager:
    """Queue training runs and supervise them. Thread-safe; one per app (st.cache_resource)."""

    def __init__(self, runs_dir: str | Path, *, max_running_per_device: int = 1,
                 python: str = sys.executable) -> None:
        self.store = RunStore(runs_dir)
        self.store.root.mkdir(parents=True, exist_ok=True)
        self.max_running = max_running_per_device
        self.python = python
        self._lock = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._queues: dict[str, collections.deque[str]] = collections.defaultdict(collections.deque)
        self._running: dict[str, int] = collections.defaultdict(int)
        # Runs a previous app process left "running" or "queued" have nobody behind them now.
        self.store.mark_interrupted()

    # -- submitting ------------------------------------------------------------------------

    def submit(self, config: TrainConfig) -> str:
        """Validate, create the run folder (status queued) and queue it; return the run id."""
        config.validate()
        device = resolve_device(config.device).type
        run = Run(create_run_dir(self.store.root, config.dataset, config.arch))
        atomic_write_json(run.config_path, config.to_dict())
        atomic_write_json(run.job_path, {"resume": False})
        self._queue(run)
        return self._enqueue(Job(run.id, run.dir, device))

    def resume(self, run_id: str, *, epochs: int | None = None, max_steps: int | None = None) -> str:
        """Queue a stopped, interrupted or failed run to continue from its last checkpoint."""
        run = self.store.get(run_id)
        if run.is_active or run_id in self._active_ids():
            raise RunError(f"run {run_id} is already {run.state}")
        config = TrainConfig.from_dict(run.config)
        device = resolve_device(config.device).type
        atomic_write_json(run.job_path, {"resume": True, "epochs": epochs, "max_steps": max_steps})
        self._queue(run)
        return self._enqueue(Job(run_id, run.dir, device, resume=True))

    def _queue(self, run: Run) -> None:
        status = read_status(run.dir)
        run.transition("queued", error=None, created_at=status.get("created_at") or now_iso(),
                       started_at=status.get("started_at"), ended_at=None,
                       epoch=status.get("epoch", 0), step=status.get("step", 0),
                       pid=os.getpid(), host=_hostname())

    def _enqueue(self, job: Job) -> str:
        with self._lock:
            self._jobs[job.run_id] = job
            self._queues[job.device].append(job.run_id)
        threading.Thread(target=self._supervise, args=(job,), name=f"job-{job.run_id}",
                         daemon=True).start()
        return job.run_id

    # -- controlling -----------------------------------------------------------------------

    def stop(self, run_id: str) -> None:
        """Ask a job to stop: a queued one leaves the queue; a running one checkpoints and ends
        after its current step (the trainer checks for a STOP file every step)."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is not None and job.state == "queued":
                self._queues[job.device].remove(run_id)
                job.state = "finished"
                Run(job.run_dir).transition("stopped", ended_at=now_iso(),
                                            error="stopped before it started")
                self._lock.notify_all()
                return
        self.store.get(run_id).request_stop()

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def _active_ids(self) -> set[str]:
        with self._lock:
            return {j.run_id for j in self._jobs.values() if j.state != "finished"}

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        """Block until the job has finished; True if it did within ``timeout`` seconds."""
        with self._lock:
            return self._lock.wait_for(lambda: self._jobs[run_id].state == "finished", timeout)

    def shutdown(self) -> None:
        """Stop every job (used by tests and at server exit)."""
        for job in self.jobs():
            if job.state != "finished":
                self.stop(job.run_id)

    # -- the supervising thread ------------------------------------------------------------

    def _supervise(self, job: Job) -> None:
        with self._lock:
            self._lock.wait_for(lambda: job.state == "finished" or (
                self._queues[job.device][0] == job.run_id
                and self._running[job.device] < self.max_running))
            if job.state == "finished":  # stopped while queued
                return
            self._queues[job.device].popleft()
            self._running[job.device] += 1
            job.state = "running"
            self._lock.notify_all()
        try:
            self._run_child(job)
        finally:
            with self._lock:
                self._running[job.device] -= 1
                job.state = "finished"
                self._lock.notify_all()

    def _run_child(self, job: Job) -> None:
        run = Run(job.run_dir)
        with open(run.log_path, "ab") as log:
            try:
                job.process = subprocess.Popen(
                    [self.python, "-m", "resnet_core.jobs", str(job.run_dir)],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env={**os.environ, "PYTHONUNBUFFERED": "1",
                         THREADS_ENV: str(job_threads(self.max_running))},
                )
            except OSError as e:
                run.transition("failed", ended_at=now_iso(),
                               error=f"could not start the training process: {e}")
                return
            job.returncode = job.process.wait()
        self._record_exit(job)

    def _record_exit(self, job: Job) -> None:
        """A child that died without saying so (SIGKILL, OOM kill, crash) leaves the run failed."""
        run = Run(job.run_dir)
        if read_status(run.dir).get("state") not in ACTIVE_STATES:
            return  # the trainer wrote its own ending: completed, stopped or failed
        rc = job.returncode
        if rc is not None and rc < 0:
            name = signal.Signals(-rc).name
            hint = " (the system may have run out of memory)" if rc == -signal.SIGKILL else ""
            error = f"the training process was killed by {name}{hint}"
        else:
            error = f"the training process exited with code {rc}: {_last_line(run.log_path)}"
        run.transition("failed", ended_at=now_iso(), error=error)


def job_threads(concurrent_jobs: int, cores: int | None = None) -> int:
    """CPU threads for each training child, chosen so that jobs never oversubscribe the cores.

    With cores to spare, one is left to the web server and the browser. On a 2-core machine
    both go to training: one thread was slower there (6,030-6,204 images/s against 6,482 with
    two, with a live page open; benchmarks/RESULTS.md).
    """
    cores = cores or os.cpu_count() or 1
    usable = cores - 1 if cores > 2 else cores
    return max(1, usable // max(1, concurrent_jobs))


def _hostname() -> str:
    return socket.gethostname()


def _last_line(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except FileNotFoundError:
        return "no output"
    return lines[-1][-300:] if lines else "no output"


# ----------------------------------------------------------------------------- the child


def child_main(run_dir: str) -> int:
    """Entry point of the training process: train or resume the run in ``run_dir``."""
    import torch

    from .errors import WorkbenchError
    from .training import resume, train

    if os.environ.get(THREADS_ENV):  # the manager's choice; a run's own num_threads wins
        torch.set_num_threads(int(os.environ[THREADS_ENV]))
    run = Run(Path(run_dir))
    job = read_json(run.job_path)
    try:
        if job.get("resume") and run.has_checkpoint("last"):
            resume(run.dir, epochs=job.get("epochs"), max_steps=job.get("max_steps"),
                   progress=False)
        else:
            config = TrainConfig.from_dict(run.config)
            if job.get("epochs"):
                config.epochs, config.max_steps = job["epochs"], None
            train(config, run_dir=run.dir, progress=False)
    except WorkbenchError as e:
        # A user-fixable failure: the trainer already wrote status failed, unless it failed
        # before training started (e.g. missing data); make sure the message reaches the UI.
        if read_status(run.dir).get("state") in ACTIVE_STATES:
            run.transition("failed", ended_at=now_iso(), error=str(e))
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]))
