"""Background training jobs: a queue, one supervising thread per job, the training in a child process.

Why a child process (DESIGN.md): a training loop in a thread of the Streamlit server ran at
0.32x-0.85x of the CLI, because every page rerun competes for the interpreter lock; in its
own process it keeps its speed, a crash or an out-of-memory kill cannot take the app down,
and GPU memory is returned when it ends.

Everything a page needs is in the run folder (status.json, metrics.jsonl), so any number of
browser tabs see the same jobs, and a run started from the CLI looks the same. The manager
holds only what a folder cannot: the queue and the child processes. No Streamlit in here.

The child is ``python -m resnet_core.jobs RUN_DIR``: it trains the config.json already in
the folder, or resumes from checkpoints/last.pt when asked to.
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
    STOP_FILE,
    RunStore,
    create_run_dir,
    now_iso,
    read_json,
    read_status,
    write_status,
)

LOG_FILE = "train.log"  # the child's stdout and stderr, for runs launched by the manager
THREADS_ENV = "RESNET_WORKBENCH_JOB_THREADS"  # CPU threads per child, set by the manager
JOB_FILE = "job.json"  # what the child should do: {"resume": bool, "epochs", "max_steps"}


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
        run_dir = create_run_dir(self.store.root, config.dataset, config.arch)
        atomic_write_json(run_dir / "config.json", config.to_dict())
        atomic_write_json(run_dir / JOB_FILE, {"resume": False})
        self._queue_status(run_dir)
        return self._enqueue(Job(run_dir.name, run_dir, device))

    def resume(self, run_id: str, *, epochs: int | None = None, max_steps: int | None = None) -> str:
        """Queue a stopped, interrupted or failed run to continue from its last checkpoint."""
        run = self.store.get(run_id)
        state = run.status.get("state")
        if state in ACTIVE_STATES or run_id in self._active_ids():
            raise RunError(f"run {run_id} is already {state}")
        config = TrainConfig.from_dict(run.config)
        device = resolve_device(config.device).type
        atomic_write_json(run.dir / JOB_FILE,
                          {"resume": True, "epochs": epochs, "max_steps": max_steps})
        self._queue_status(run.dir)
        return self._enqueue(Job(run_id, run.dir, device, resume=True))

    def _queue_status(self, run_dir: Path) -> None:
        status = read_status(run_dir)
        write_status(run_dir, state="queued", error=None, created_at=status.get("created_at") or now_iso(),
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
                write_status(job.run_dir, state="stopped", ended_at=now_iso(),
                             error="stopped before it started")
                self._lock.notify_all()
                return
        run = self.store.get(run_id)
        (run.dir / STOP_FILE).touch()

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
        with open(job.run_dir / LOG_FILE, "ab") as log:
            try:
                job.process = subprocess.Popen(
                    [self.python, "-m", "resnet_core.jobs", str(job.run_dir)],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env={**os.environ, "PYTHONUNBUFFERED": "1",
                         THREADS_ENV: str(job_threads(self.max_running))},
                )
            except OSError as e:
                write_status(job.run_dir, state="failed", ended_at=now_iso(),
                             error=f"could not start the training process: {e}")
                return
            job.returncode = job.process.wait()
        self._record_exit(job)

    def _record_exit(self, job: Job) -> None:
        """A child that died without saying so (SIGKILL, OOM kill, crash) leaves the run failed."""
        status = read_status(job.run_dir)
        if status.get("state") not in ACTIVE_STATES:
            return  # the trainer wrote its own ending: completed, stopped or failed
        rc = job.returncode
        if rc is not None and rc < 0:
            name = signal.Signals(-rc).name
            hint = " (the system may have run out of memory)" if rc == -signal.SIGKILL else ""
            error = f"the training process was killed by {name}{hint}"
        else:
            error = f"the training process exited with code {rc}: {_last_line(job.run_dir / LOG_FILE)}"
        write_status(job.run_dir, state="failed", ended_at=now_iso(), error=error)


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
    run_dir_path = Path(run_dir)
    job = read_json(run_dir_path / JOB_FILE)
    try:
        if job.get("resume") and (run_dir_path / "checkpoints" / "last.pt").is_file():
            resume(run_dir_path, epochs=job.get("epochs"), max_steps=job.get("max_steps"),
                   progress=False)
        else:
            config = TrainConfig.from_dict(read_json(run_dir_path / "config.json"))
            if job.get("epochs"):
                config.epochs, config.max_steps = job["epochs"], None
            train(config, run_dir=run_dir_path, progress=False)
    except WorkbenchError as e:
        # A user-fixable failure: the trainer already wrote status failed, unless it failed
        # before training started (e.g. missing data); make sure the message reaches the UI.
        if read_status(run_dir_path).get("state") in ACTIVE_STATES:
            write_status(run_dir_path, state="failed", ended_at=now_iso(), error=str(e))
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1]))
