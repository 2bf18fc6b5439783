"""Background training jobs: a queue, one supervising thread per job, the training in a child process.

Why a child process (DESIGN.md): a training loop in a thread of the Streamlit server ran at
0.32x-0.85x of the CLI, because every page rerun competes for the interpreter lock; in its
own process it keeps its speed, a crash or an out-of-memory kill cannot take the app down,
and GPU memory is returned when it ends.

Everything a page needs is in the run folder (status.json, metrics.jsonl), so any number of
browser tabs see the same jobs, and a run started from the CLI looks the same. The manager
holds only what a folder cannot: the queue and the child processes. No Streamlit in here.

The child is ``python -m resnet_core.jobs RUN_DIR``: it trains the config.json already in
the folder, or resumes from the last checkpoint when asked to. So that a click does not wait
for an interpreter to start and import torch (about 5 s of a 15 s quick start on 2 cores),
the manager keeps one warm child, ``python -m resnet_core.jobs --worker``, that has imported
the trainer and waits on its stdin for a run folder; it is replaced after each job.
"""

from __future__ import annotations

import collections
import fcntl
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .access import LESSONS, LOCAL, User, require_control, require_teacher
from .atomic import atomic_write_json
from .config import TrainConfig, resolve_device
from .errors import RunError
from .events import Callback
from .runs import (
    ACTIVE_STATES,
    LOG_FILE,  # noqa: F401 - re-exported: the child's output, for runs launched here
    Run,
    RunStore,
    create_run_dir,
    default_runs_dir,
    now_iso,
    read_json,
    read_status,
)

THREADS_ENV = "RESNET_WORKBENCH_JOB_THREADS"  # CPU threads per child, set by the manager
SERVER_GONE = "the app stopped while this run trained; resume it from its last checkpoint"
SUPERVISED_ENV = "RESNET_WORKBENCH_SUPERVISED"  # set for children: stop when the pipe closes
WARM_ENV = "RESNET_WORKBENCH_WARM_WORKER"  # "0": no warm child (the tests' default)
LOCK_FILE = ".workbench.lock"  # in the runs folder: one server runs its jobs
WORKER_FLAG = "--worker"  # python -m resnet_core.jobs --worker: a warm child waiting for a run
NICE_ENV = "RESNET_WORKBENCH_JOB_NICE"  # how much children lower their priority (default 5)


@dataclass
class Job:
    run_id: str
    run_dir: Path
    device: str  # "cpu" or "cuda": jobs queue per device
    resume: bool = False
    state: str = "queued"  # queued | running | finished (the run's own state is in status.json)
    process: subprocess.Popen | None = field(default=None, repr=False)
    returncode: int | None = None
    warm: bool = False  # started by the waiting warm child, not a fresh interpreter
    processes: int = 1  # > 1: data-parallel under torchrun (one process per GPU)
    owner: str = LOCAL.id  # who queued it: the queue takes owners in turn (round robin)


class JobManager:
    """Queue training runs and supervise them. Thread-safe; one per runs folder and process
    (``manager_for``), and one server per runs folder (a lock file; a second is read-only).

    The queue is durable: queued runs say so in their status.json, with this manager's
    instance id; a manager that starts on the folder re-queues, in their order, the queued runs
    no live manager owns (the lock proves the old one is gone: no process ids are trusted, so
    a container's next server, process 1 again, still recovers them). ``close`` (server exit)
    stops the running jobs with a checkpoint and leaves the queued ones queued.

    Every action takes the acting ``user`` (default ``LOCAL``: single-user mode, every control)
    and checks it (``access``); with a ``policy`` (a class server's ``Classroom``) submissions
    are checked against the class's limits too. The queue is fair: the next job to start is
    the oldest one of the owner who started one least recently, so thirty students queueing
    at once take turns instead of waiting behind the first one's runs.
    """

    def __init__(self, runs_dir: str | Path, *, max_running_per_device: int = 1,
                 python: str = sys.executable, warm_worker: bool | None = None,
                 policy=None) -> None:
        self.store = RunStore(runs_dir)
        self.store.root.mkdir(parents=True, exist_ok=True)
        self.max_running = max_running_per_device
        self.python = python
        self._lock = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._queues: dict[str, collections.deque[str]] = collections.defaultdict(collections.deque)
        self._running: dict[str, int] = collections.defaultdict(int)
        self._turns: dict[str, int] = {}  # owner -> when they last started a job (round robin)
        self._started = 0
        self._submit_lock = threading.Lock()  # a limit check and its queueing are one step
        self.policy = policy  # a classroom.Classroom on a class server
        self.instance = secrets.token_hex(8)  # marks the queued runs this manager owns
        self._closing = False
        self._warm: subprocess.Popen | None = None
        self.read_only = self._lock_folder()  # None, or why this manager may not run jobs
        if warm_worker is None:
            warm_worker = os.environ.get(WARM_ENV, "1") != "0"
        self._warm_wanted = warm_worker and self.read_only is None
        if self.read_only is None:
            self._recover()
        self._start_warm()

    # -- submitting ------------------------------------------------------------------------

    def submit(self, config: TrainConfig, *, processes: int = 1, user: User = LOCAL) -> str:
        """Validate, create the run folder (status queued) and queue it; return the run id.

        ``processes`` > 1 trains data-parallel under torchrun (standalone, one process per
        GPU; gloo processes on the CPU), with ``config.batch_size`` the global batch. On a
        class server a student's run must fit the open challenge's limits (it enters it).
        """
        self._check_writable()
        config.validate()
        device = resolve_device(config.device).type
        check_processes(processes, device, config.batch_size)
        if processes > 1:
            require_teacher(user, "train on several GPUs")
        with self._submit_lock:
            challenge = None
            if self.policy is not None:
                challenge = self.policy.check_submission(
                    user, config, active_of_user=self._active_count(user.id),
                    active_total=self._active_count())
            return self._create(config, device, processes, user, challenge=challenge)

    def submit_shared(self, config: TrainConfig, *, user: User = LOCAL) -> str:
        """Queue a shared run (a lesson's): owned by ``access.LESSONS``, so every viewer reuses
        it and only the teacher stops or deletes it; bound only by the class's queue cap."""
        self._check_writable()
        config.validate()
        device = resolve_device(config.device).type
        with self._submit_lock:
            if self.policy is not None:
                self.policy.check_shared(self._active_count())
            return self._create(config, device, 1, LESSONS, queued_by=user)

    def _create(self, config: TrainConfig, device: str, processes: int, owner: User, *,
                challenge: str | None = None, queued_by: User | None = None) -> str:
        run = Run(create_run_dir(self.store.root, config.dataset, config.arch))
        atomic_write_json(run.config_path, config.to_dict())
        job = {"resume": False, "processes": processes}
        if owner != LOCAL:
            job["owner"] = {"id": owner.id, "name": owner.name}
        if queued_by is not None and queued_by != LOCAL:
            job["queued_by"] = {"id": queued_by.id, "name": queued_by.name}
        if challenge is not None:
            job["challenge"] = challenge
        atomic_write_json(run.job_path, job)
        self._queue(run)
        return self._enqueue(Job(run.id, run.dir, device, processes=processes, owner=owner.id))

    def resume(self, run_id: str, *, epochs: int | None = None, max_steps: int | None = None,
               user: User = LOCAL) -> str:
        """Queue a stopped, interrupted or failed run to continue from its last checkpoint.
        The teacher resumes any run; a student their own, with the challenge's limits on the
        budget and on how many runs they have going."""
        self._check_writable()
        run = self.store.get(run_id)
        job = run.job
        owner = run.owner
        require_control(user, "resume", run_id, owner["id"])
        with self._submit_lock:
            if run.is_active or run_id in self._active_ids():
                raise RunError(f"run {run_id} is already {run.state}")
            config = TrainConfig.from_dict(run.config)
            if self.policy is not None:
                budget = config if epochs is None and max_steps is None else TrainConfig.from_dict(
                    {**run.config, "epochs": epochs, "max_steps": max_steps})
                self.policy.check_submission(user, budget, active_of_user=self._active_count(user.id),
                                             active_total=self._active_count())
            device = resolve_device(config.device).type
            # As many processes as it trained with, where this machine still has them.
            processes = min(int(run.config.get("world_size") or 1), device_count(device))
            atomic_write_json(run.job_path, {**job, "resume": True, "epochs": epochs,
                                             "max_steps": max_steps, "processes": processes})
            self._queue(run)
            return self._enqueue(Job(run_id, run.dir, device, resume=True, processes=processes,
                                     owner=owner["id"]))

    def delete(self, run_id: str, *, user: User = LOCAL) -> None:
        """Remove a run folder for good (refused while it is queued or running): the teacher
        any run, a student their own."""
        self._check_writable()
        require_control(user, "delete", run_id, self.store.get(run_id).owner["id"])
        self.store.delete(run_id)

    def _queue(self, run: Run) -> None:
        status = read_status(run.dir)
        run.transition("queued", error=None, created_at=status.get("created_at") or now_iso(),
                       started_at=status.get("started_at"), ended_at=None,
                       epoch=status.get("epoch", 0), step=status.get("step", 0),
                       pid=os.getpid(), host=_hostname(), server=self.instance,
                       queued_at=now_iso())

    def _enqueue(self, job: Job) -> str:
        with self._lock:
            self._jobs[job.run_id] = job
            self._queues[job.device].append(job.run_id)
        threading.Thread(target=self._supervise, args=(job,), name=f"job-{job.run_id}",
                         daemon=True).start()
        return job.run_id

    # -- controlling -----------------------------------------------------------------------

    def stop(self, run_id: str, *, user: User = LOCAL) -> None:
        """Ask a job to stop: a queued one leaves the queue; a running one checkpoints and ends
        after its current step (the trainer checks for a STOP file every step). The teacher
        stops any run, a student their own."""
        self._check_writable()
        if user != LOCAL:
            require_control(user, "stop", run_id, self.store.get(run_id).owner["id"])
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

    def _active_count(self, owner: str | None = None) -> int:
        """Queued or running jobs (of one owner, or everyone's)."""
        with self._lock:
            return sum(j.state != "finished" and owner in (None, j.owner) for j in self._jobs.values())

    def _next(self, device: str) -> str | None:
        """The job to start next on ``device``: round robin over owners, oldest first within
        each (a single owner, as in single-user mode, is first come first served)."""
        first: dict[str, int] = {}
        queue = self._queues[device]
        for position, run_id in enumerate(queue):
            first.setdefault(self._jobs[run_id].owner, position)
        if not first:
            return None
        owner = min(first, key=lambda o: (self._turns.get(o, -1), first[o]))
        return queue[first[owner]]

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        """Block until the job has finished; True if it did within ``timeout`` seconds."""
        with self._lock:
            return self._lock.wait_for(lambda: self._jobs[run_id].state == "finished", timeout)

    def close(self, timeout: float = 60.0) -> None:
        """Server exit: each running job checkpoints and stops (its run resumable), queued runs
        stay queued in their folders for the next server, the folder lock is released."""
        self._closing = True
        self._end_warm()
        with self._lock:
            running = [j for j in self._jobs.values() if j.state == "running"]
            self._lock.notify_all()  # queued supervisors see _closing and leave
        for job in running:
            if job.process is not None:
                _close_quietly(job.process.stdin)  # the child's cue to checkpoint and stop
            # And the trainer's own, for torchrun ranks, carrying the reason: whichever the
            # trainer sees first, the pipe's end or this file, the status says why it stopped.
            Run(job.run_dir).request_stop(SERVER_GONE)
        deadline = time.monotonic() + timeout
        for job in running:
            with self._lock:
                self._lock.wait_for(lambda j=job: j.state == "finished",
                                    max(0.0, deadline - time.monotonic()))
        self._unlock_folder()

    def shutdown(self) -> None:
        """Stop every job and the warm child (used by tests and at server exit)."""
        self._end_warm()
        for job in self.jobs():
            if job.state != "finished":
                self.stop(job.run_id)

    # -- the supervising thread ------------------------------------------------------------

    def _supervise(self, job: Job) -> None:
        with self._lock:
            self._lock.wait_for(lambda: job.state == "finished" or self._closing or (
                self._next(job.device) == job.run_id
                and self._running[job.device] < self.max_running))
            if job.state == "finished" or self._closing:  # stopped while queued, or server exit
                job.state = "finished"
                self._lock.notify_all()
                return
            self._queues[job.device].remove(job.run_id)
            self._turns[job.owner] = self._started
            self._started += 1
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
        job.process = self._hand_to_warm(job) if job.processes == 1 else None
        job.warm = job.process is not None
        if job.process is None:
            with open(run.log_path, "ab") as log:
                try:
                    # stdin is a pipe nobody writes to: when it closes (close(), or this
                    # process dies) the child checkpoints and stops. Own session: a Ctrl-C
                    # meant for the server reaches the children through close(), in order.
                    job.process = subprocess.Popen(
                        self._child_command(job), stdout=log, stderr=subprocess.STDOUT,
                        stdin=subprocess.PIPE, env=self._child_env(), start_new_session=True)
                except OSError as e:
                    run.transition("failed", ended_at=now_iso(),
                                   error=f"could not start the training process: {e}")
                    return
        job.returncode = job.process.wait()
        _close_quietly(job.process.stdin)
        self._start_warm()  # a fresh one for the next job, now that the cores are free
        self._record_exit(job)

    # -- the folder lock and recovery -------------------------------------------------------

    def _lock_folder(self) -> str | None:
        """Take the runs folder's lock; None, or a one-line reason this manager is read-only.

        flock: the kernel releases it when the holder dies, so it can never go stale."""
        path = self.store.root / LOCK_FILE
        self._lock_handle = open(path, "a+")  # noqa: SIM115 - held for the manager's life
        try:
            fcntl.flock(self._lock_handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_handle.seek(0)
            owner = self._lock_handle.read().strip() or "another process"
            self._lock_handle.close()
            self._lock_handle = None
            return (f"another workbench server ({owner}) runs the jobs of {self.store.root}; "
                    "this one is read-only: runs can be watched, not started or stopped")
        self._lock_handle.seek(0)
        self._lock_handle.truncate()
        self._lock_handle.write(f"pid {os.getpid()} on {_hostname()}, since {now_iso()}\n")
        self._lock_handle.flush()
        return None

    def _unlock_folder(self) -> None:
        if getattr(self, "_lock_handle", None) is not None:
            self._lock_handle.close()  # closing releases the flock
            self._lock_handle = None

    def _check_writable(self) -> None:
        if self.read_only is not None:
            raise RunError(self.read_only)

    def _recover(self) -> None:
        """Queued runs of a server that is gone go back in the queue, oldest first; running
        runs whose process is gone become interrupted (resumable)."""
        queued = []
        for run in self.store.runs():
            try:
                status = read_status(run.dir)
            except RunError:
                continue  # a damaged run is left as it is (RunStore warns when listing)
            if status.get("state") == "queued":
                queued.append((status.get("queued_at") or status.get("created_at") or "", run))
        self.store.mark_interrupted(states=("running",))
        for _, run in sorted(queued, key=lambda item: item[0]):
            job = read_json(run.job_path)
            device = resolve_device(TrainConfig.from_dict(run.config).device).type
            processes = min(int(job.get("processes") or 1), device_count(device))
            run.record(pid=os.getpid(), host=_hostname(), server=self.instance)
            self._enqueue(Job(run.id, run.dir, device, resume=bool(job.get("resume")),
                              processes=processes, owner=run.owner["id"]))

    def _child_command(self, job: Job) -> list[str]:
        child = ["-m", "resnet_core.jobs", str(job.run_dir)]
        if job.processes == 1:
            return [self.python, *child]
        # torchrun's standalone mode: a local rendezvous on a free port, N ranks.
        return [self.python, "-m", "torch.distributed.run", "--standalone",
                f"--nproc_per_node={job.processes}", *child]

    # -- the warm child ---------------------------------------------------------------------

    def _child_env(self) -> dict:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", SUPERVISED_ENV: "1",
               THREADS_ENV: str(job_threads(self.max_running))}
        if self.policy is not None and NICE_ENV not in os.environ:
            # A class server's pages are cheap reruns (fragments, shared reads): its jobs keep
            # the server's priority, so thirty viewers cost training little (RESULTS.md).
            env[NICE_ENV] = "0"
        return env

    def _start_warm(self) -> None:
        with self._lock:
            if not self._warm_wanted or (self._warm is not None and self._warm.poll() is None):
                return
            try:
                self._warm = subprocess.Popen(
                    [self.python, "-m", "resnet_core.jobs", WORKER_FLAG], stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self._child_env(),
                    start_new_session=True)
            except OSError:
                self._warm = None  # jobs start a fresh interpreter instead

    def _end_warm(self) -> None:
        """No more warm children; the waiting one gets end of input and exits untrained."""
        self._warm_wanted = False
        warm = self._take_warm()
        if warm is not None:
            warm.stdin.close()

    def _take_warm(self) -> subprocess.Popen | None:
        with self._lock:
            warm, self._warm = self._warm, None
        return warm if warm is not None and warm.poll() is None else None

    def _hand_to_warm(self, job: Job) -> subprocess.Popen | None:
        """Give the job to the warm child; None if there is none (or it just died)."""
        warm = self._take_warm()
        if warm is None:
            return None
        try:  # the pipe stays open: its closing tells the child to stop
            warm.stdin.write(f"{job.run_dir}\n".encode())
            warm.stdin.flush()
        except OSError:
            warm.kill()
            return None
        return warm

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


_MANAGERS: dict[str, JobManager] = {}
_MANAGERS_LOCK = threading.Lock()


def manager_for(runs_dir: str | Path, **options) -> JobManager:
    """The process's one JobManager for a runs folder (the app's pages share it)."""
    key = str(Path(runs_dir).resolve())
    with _MANAGERS_LOCK:
        if key not in _MANAGERS:
            _MANAGERS[key] = JobManager(key, **options)
        return _MANAGERS[key]


MAX_JOBS_ENV = "RESNET_WORKBENCH_MAX_JOBS"  # jobs that may train at once on one device


def app_manager() -> JobManager:
    """The app's manager: the runs folder of $RESNET_WORKBENCH_RUNS (or ./runs), at most
    $RESNET_WORKBENCH_MAX_JOBS (default 1) jobs training at once per device. app.py's lifespan
    makes it when the server starts, so queued runs resume without a visitor."""
    key = (os.getcwd(), str(default_runs_dir()))
    manager = _APP_MANAGERS.get(key)  # every page rerun asks: no path resolving when known
    if manager is None:
        from .classroom import class_mode, classroom_for

        # A class server checks students' submissions against its Classroom.
        policy = classroom_for(key[1]) if class_mode() else None
        manager = manager_for(key[1], policy=policy,
                              max_running_per_device=int(os.environ.get(MAX_JOBS_ENV, "1")))
        _APP_MANAGERS[key] = manager
    return manager


_APP_MANAGERS: dict[tuple[str, str], JobManager] = {}


def close_all(timeout: float = 60.0) -> None:
    """Server exit: close every manager of this process (app.py's lifespan calls this)."""
    with _MANAGERS_LOCK:
        managers = list(_MANAGERS.values())
        _MANAGERS.clear()
        _APP_MANAGERS.clear()
    for manager in managers:
        manager.close(timeout)


def device_count(device: str) -> int:
    """How many processes a job on ``device`` may use: the GPUs; on the CPU, the cores."""
    import torch

    if device == "cuda":
        return torch.cuda.device_count()
    return os.cpu_count() or 1


def check_processes(processes: int, device: str, batch_size: int) -> None:
    """A one-line RunError unless ``processes`` fits the device and splits the batch."""
    available = device_count(device)
    if not isinstance(processes, int) or isinstance(processes, bool) or processes < 1:
        raise RunError(f"processes must be a whole number >= 1, got {processes!r}")
    if processes > available:
        what = "GPUs" if device == "cuda" else "CPU cores"
        raise RunError(f"{processes} processes asked for but this machine has {available} "
                       f"{what}; use 1..{available}")
    if batch_size % processes:
        raise RunError(f"batch size {batch_size} must be divisible by the {processes} processes")


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

    if os.environ.get(THREADS_ENV) and "WORLD_SIZE" not in os.environ:
        # The manager's choice; a run's own num_threads wins; torchrun ranks share the cores.
        torch.set_num_threads(int(os.environ[THREADS_ENV]))
    run = Run(Path(run_dir))
    job = read_json(run.job_path)
    main_rank = os.environ.get("RANK", "0") == "0"  # under torchrun, rank 0 writes the status
    gone, watch = threading.Event(), []
    if os.environ.get(SUPERVISED_ENV) and "WORLD_SIZE" not in os.environ:
        watch_supervisor(gone)
        watch = [SupervisorGone(gone)]
        os.nice(int(os.environ.get(NICE_ENV, "5")))  # the server's pages stay responsive
    try:
        if job.get("resume") and run.has_checkpoint("last"):
            resume(run.dir, epochs=job.get("epochs"), max_steps=job.get("max_steps"),
                   progress=False, callbacks=watch)
        else:
            config = TrainConfig.from_dict(run.config)
            if job.get("epochs"):
                config.epochs, config.max_steps = job["epochs"], None
            train(config, run_dir=run.dir, progress=False, callbacks=watch)
    except WorkbenchError as e:
        # A user-fixable failure: the trainer already wrote status failed, unless it failed
        # before training started (e.g. missing data); make sure the message reaches the UI.
        if main_rank and read_status(run.dir).get("state") in ACTIVE_STATES:
            run.transition("failed", ended_at=now_iso(), error=str(e))
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


class SupervisorGone(Callback):
    """In a supervised child: stops the run when the server went away, saying so in its status.

    The reason and the stop are set together, in the trainer's thread: when the watcher's event
    was the trainer's ``stop`` itself, a server leaving between this callback and the trainer's
    stop check stopped the run without a reason."""

    def __init__(self, gone: threading.Event) -> None:
        self.gone = gone

    def on_step_end(self, state, logs) -> None:
        if self.gone.is_set():
            state.stop_reason = SERVER_GONE
            state.should_stop = True


def watch_supervisor(stop: threading.Event) -> None:
    """Set ``stop`` when stdin reaches its end (the server closed the pipe, or died: the
    kernel closes it then) or on SIGTERM; the trainer then checkpoints and stops."""

    def wait_for_end_of_input() -> None:
        try:
            sys.stdin.read()
        except (OSError, ValueError):
            return
        stop.set()

    threading.Thread(target=wait_for_end_of_input, name="supervisor-watch", daemon=True).start()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())


def _close_quietly(stream) -> None:
    try:
        if stream is not None:
            stream.close()
    except OSError:
        pass


def worker_main() -> int:
    """The warm child: import what training needs, then wait for one run folder on stdin.

    Its output goes to that run's train.log, as a fresh child's would. End of input (the
    manager shut down or went away) means: exit without training.
    """
    import torch

    from . import evaluation, training  # noqa: F401 - the trainer, data, models, metrics

    # torch imports torch._dynamo at the first optimizer's add_param_group (1.4 s here).
    torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1, foreach=True)

    line = sys.stdin.readline().strip()
    if not line:
        return 0
    fd = os.open(Run(Path(line)).log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    return child_main(line)


if __name__ == "__main__":
    sys.exit(worker_main() if sys.argv[1:] == [WORKER_FLAG] else child_main(sys.argv[1]))
