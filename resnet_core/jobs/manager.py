"""The job manager: the queue of training runs (admission, fairness, class limits) and the
supervision of each run an executor trains (jobs/executor.py: local processes, Ray or Slurm).

One per runs folder and process, and one server per runs folder (a lock file; a second is
read-only). The queue releases a run when the executor has a free slot; the run folder
(status.json, the STOP file, checkpoints) is the contract with the child wherever it runs.

Several app processes on one folder (replicas, ``RESNET_WORKBENCH_REPLICA``): the lock's
holder owns the queue, the others hand runs to it through the folder and take it over when it
dies (replicas.py).

Why one module of about 600 lines: ``JobManager``'s queue, its supervising threads and its
folder lock share one condition variable; the parts that do not (who starts next, where a
run trains, the child) are already their own modules (queue.py, the executors, child.py).
"""

from __future__ import annotations

import collections
import fcntl
import os
import secrets
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from resnet_core.atomic import atomic_write_json
from resnet_core.errors import ConfigError, RunError
from resnet_core.filelock import FolderLock, signature
from resnet_core.i18n import _, set_language
from resnet_core.jobs.capacity import check_processes, hostname, job_threads
from resnet_core.jobs.executor import EXECUTORS, Executor, Exit, Handle, Launch
from resnet_core.jobs.local import LocalExecutor
from resnet_core.jobs.queue import FairQueue
from resnet_core.jobs.replicas import (
    HANDOFF_FILE,
    HANDOFF_S,
    SETTLE_S,
    active_runs,
    instance_of,
    left_by,
    owner_line,
    signal_handoff,
)
from resnet_core.runs.folder import (
    ACTIVE_STATES,
    LR_FIND_DIR,
    SERVER_GONE,
    Run,
    create_run_dir,
    is_stale,
    now_iso,
    read_status,
)
from resnet_core.runs.jobfile import (
    LESSONS_OWNER,
    LOCAL_OWNER,
    Owner,
    SweepTrial,
    write_new_job,
    write_resume_job,
)
from resnet_core.runs.store import RunStore
from resnet_core.settings import JOB_NICE, JOB_THREADS, SUPERVISED, settings
from resnet_core.training.config import TrainConfig

LOCK_FILE = ".workbench.lock"  # in the runs folder: one server runs its jobs


@dataclass
class Job:
    run_id: str
    run_dir: Path
    device: str  # "cpu" or "cuda": jobs queue per device
    resume: bool = False
    state: str = "queued"  # queued | running | finished (the run's own state is in status.json)
    handle: Handle | None = field(default=None, repr=False)  # the executor's, once started
    returncode: int | None = None
    processes: int = 1  # > 1: data-parallel under torchrun (one process per GPU)
    owner: str = LOCAL_OWNER.id  # who queued it: the queue takes owners in turn (round robin)
    queued_by: str | None = None  # a shared (lesson) run: whose click queued it
    # Counted against a class's queue cap: students' runs and lesson runs. The teacher's runs
    # and sweep trials are not (a 45-trial sweep once locked every student out).
    capped: bool = True

    @property
    def process(self):
        """The local child process (local executor only), else None."""
        return getattr(self.handle, "process", None)

    @property
    def warm(self) -> bool:
        """Started by the local executor's waiting warm child, not a fresh interpreter."""
        return bool(getattr(self.handle, "warm", False))


class JobManager:
    """Queue training runs and supervise them. Thread-safe; one per runs folder and process
    (``manager_for``), and one server per runs folder (a lock file; a second is read-only).

    The queue is durable: queued runs say so in their status.json, with this manager's
    instance id; a manager that starts on the folder re-queues, in their order, the queued runs
    no live manager owns (the lock proves the old one is gone: no process ids are trusted, so
    a container's next server, process 1 again, still recovers them). ``close`` (server exit)
    stops the running jobs with a checkpoint and leaves the queued ones queued.

    Who may do what is the front door's to check (``workbench``); the manager takes an
    ``Owner`` (who a run belongs to) and, for a submission, whether the class's student limits
    bound it (``limited``, decided by the front door). With a ``policy`` (a class server's
    ``Classroom``) submissions are checked against it. The queue is fair: the next job to start is
    the oldest one of the owner who started one least recently, so thirty students queueing
    at once take turns instead of waiting behind the first one's runs.
    """

    def __init__(self, runs_dir: str | Path, *, max_running_per_device: int = 1,
                 python: str = sys.executable, warm_worker: bool | None = None,
                 policy=None, executor: Executor | str | None = None,
                 replica: bool | None = None, take_over: bool = True) -> None:
        self.store = RunStore(runs_dir)
        self.store.root.mkdir(parents=True, exist_ok=True)
        self.max_running = max_running_per_device
        self.python = python
        self._lock = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._waiting = FairQueue()  # who starts next: round robin over owners
        self._running: dict[str, int] = collections.defaultdict(int)
        # One of several processes on this folder (issue 40): hands runs to the queue's owner.
        self.replica = settings().replica if replica is None else replica
        # A limit check and its queueing are one step: across the replicas too.
        self._submit_lock = (FolderLock(self.store.root / ".submit.lock") if self.replica
                             else threading.Lock())
        self.policy = policy  # a classroom.Classroom on a class server
        self.instance = secrets.token_hex(8)  # marks the queued runs this manager owns
        self._closing = False
        self._folder_owner = self._lock_folder()  # None, or who runs this folder's jobs
        self._counted: tuple[float, dict] = (0.0, {})  # counts() of a replica, a second old at most
        self._owner_hooks: list = []  # called while a replica owns the queue (``when_owner``)
        if warm_worker is None:
            warm_worker = settings().warm_worker
        # Where released runs train: given, named, or $RESNET_WORKBENCH_EXECUTOR (local by
        # default: child processes here, a warm one waiting).
        if executor is None or isinstance(executor, str):
            executor = make_executor(executor, runs_dir=self.store.root,
                                     max_running_per_device=max_running_per_device,
                                     warm=warm_worker and self.owns_queue, python=python,
                                     env=self._child_env)
        self.executor = executor
        if self.owns_queue:
            self._recover()
        if isinstance(self.executor, LocalExecutor):
            self.executor.start_warm()
        if self.replica and take_over:
            threading.Thread(target=self._follow_the_folder, name="replica", daemon=True).start()
        elif self.owns_queue:  # a CLI beside this server may hand it runs (``take_over=False``)
            threading.Thread(target=self._watch_handoffs, name="handoffs", daemon=True).start()

    # -- submitting ------------------------------------------------------------------------

    def submit(self, config: TrainConfig, *, processes: int = 1, owner: Owner = LOCAL_OWNER,
               limited: bool = True, sweep: SweepTrial | None = None,
               peers: frozenset[str] = frozenset(), class_id: str | None = None) -> str:
        """Validate, create the run folder (status queued) and queue it; return the run id.

        ``processes`` > 1 trains data-parallel under torchrun (standalone, one process per
        GPU; gloo processes on the CPU), with ``config.batch_size`` the global batch. With a
        ``policy`` (a class server), the owner's run must fit it (the check and the queueing
        are one step): within the class's student limits when ``limited`` (the default, so a
        caller that does not say is bound), else only by free memory; who may ask for what is
        the front door's to check (``workbench``). ``sweep`` marks the run as a sweep's trial.
        ``peers``: the owner ids that share the owner's runs at a time (the names joined from
        one address, as the front door finds them). ``class_id``: the class (of a server's
        several) whose policy bounds it, recorded in job.json.
        """
        self._check_writable()
        config.validate()
        device = self.executor.device_type(config.device)
        check_processes(processes, device, config.batch_size,
                        available=None if isinstance(self.executor, LocalExecutor)
                        else self.executor.device_count(device))
        with self._submit_lock:
            challenge = None
            if self.policy is not None:
                challenge = self.policy.check_submission(
                    config, limited=limited, active_of_owner=self._active_count(owner.id),
                    active_total=self._capped_count(), active_of_address=self._active_of(peers),
                    class_id=class_id)
            return self._create(config, device, processes, owner, challenge=challenge,
                                sweep=sweep, capped=limited and sweep is None, class_id=class_id)

    def submit_shared(self, config: TrainConfig, *, queued_by: Owner = LOCAL_OWNER,
                      limited: bool = True, class_id: str | None = None) -> str:
        """Queue a shared run (a lesson's): owned by ``LESSONS_OWNER``, so every viewer reuses
        it; bound by the class's queue cap and, when ``limited`` (a student's click), by the
        lesson runs ``queued_by``'s clicks may have queued or running at once."""
        self._check_writable()
        config.validate()
        device = self.executor.device_type(config.device)
        with self._submit_lock:
            if self.policy is not None:
                self.policy.check_shared(self._capped_count(), limited=limited,
                                         queued_by_active=self.active_queued_by(queued_by.id),
                                         class_id=class_id)
            return self._create(config, device, 1, LESSONS_OWNER, queued_by=queued_by)

    def submit_lr_find(self, config: TrainConfig, *, steps: int = 200,
                       owner: Owner = LOCAL_OWNER) -> Path:
        """Queue a learning-rate sweep for ``config`` (one process, the device's queue, in turn
        with the runs); its folder under <runs>/.lr_find/, where the child writes the curve."""
        self._check_writable()
        config.validate()
        device = self.executor.device_type(config.device)
        with self._submit_lock:
            return self.store.root / LR_FIND_DIR / self._create(
                config, device, 1, owner, kind="lr_find", steps=steps,
                parent=self.store.root / LR_FIND_DIR)

    def _create(self, config: TrainConfig, device: str, processes: int, owner: Owner, *,
                challenge: str | None = None, queued_by: Owner | None = None,
                kind: str = "train", steps: int | None = None,
                parent: Path | None = None, sweep: SweepTrial | None = None,
                capped: bool = True, class_id: str | None = None) -> str:
        run = Run(create_run_dir(parent or self.store.root, config.dataset, config.arch))
        atomic_write_json(run.config_path, config.to_dict())
        write_new_job(run, processes=processes, owner=owner, queued_by=queued_by,
                      challenge=challenge, kind=kind, steps=steps, sweep=sweep, capped=capped,
                      class_id=class_id)
        self._queue(run)
        if not self.owns_queue:
            signal_handoff(self.store.root)
            return run.id  # queued in the folder: the owner adopts it (replicas.py)
        return self._enqueue(Job(run.id, run.dir, device, processes=processes, owner=owner.id,
                                 queued_by=queued_by.id if queued_by is not None else None,
                                 capped=capped))

    def resume(self, run_id: str, *, epochs: int | None = None, max_steps: int | None = None,
               owner: Owner = LOCAL_OWNER, limited: bool = True,
               peers: frozenset[str] = frozenset(), class_id: str | None = None) -> str:
        """Queue a stopped, interrupted or failed run to continue from its last checkpoint;
        ``owner`` is who asks (with a policy, ``limited`` bounds their budget and how many
        runs they have going, as ``submit``)."""
        self._check_writable()
        run = self.store.get(run_id)
        if run.is_imported:
            raise RunError(_("run {run_id} was imported from {kind}: imported runs are "
                             "read-only (no checkpoints to continue from)").format(
                               run_id=run_id, kind=run.status['imported_from']['kind']))
        with self._submit_lock:
            if run.is_active or run_id in self._active_ids():
                raise RunError(_("run {run_id} is already {state}").format(
                                   run_id=run_id, state=run.state))
            config = TrainConfig.from_dict(run.config)
            if self.policy is not None:
                budget = config if epochs is None and max_steps is None else TrainConfig.from_dict(
                    {**run.config, "epochs": epochs, "max_steps": max_steps})
                self.policy.check_submission(budget, limited=limited,
                                             active_of_owner=self._active_count(owner.id),
                                             active_total=self._capped_count(),
                                             active_of_address=self._active_of(peers),
                                             class_id=class_id or run.job.class_id)
            device = self.executor.device_type(config.device)
            # As many processes as it trained with, where this machine still has them.
            processes = min(int(run.config.get("world_size") or 1), self.executor.device_count(device))
            write_resume_job(run, epochs=epochs, max_steps=max_steps, processes=processes)
            self._queue(run)
            if not self.owns_queue:
                signal_handoff(self.store.root)
                return run_id
            return self._enqueue(Job(run_id, run.dir, device, resume=True, processes=processes,
                                     owner=run.owner.id, capped=limited and run.job.sweep is None))

    def delete(self, run_id: str) -> None:
        """Remove a run folder for good (refused while it is queued or running)."""
        self._check_writable()
        self.store.delete(run_id)

    def _queue(self, run: Run) -> None:
        status = read_status(run.dir)
        run.transition("queued", error=None, created_at=status.get("created_at") or now_iso(),
                       started_at=status.get("started_at"), ended_at=None,
                       epoch=status.get("epoch", 0), step=status.get("step", 0),
                       pid=os.getpid(), host=hostname(), server=self.instance,
                       queued_at=now_iso())

    def _enqueue(self, job: Job) -> str:
        with self._lock:
            self._jobs[job.run_id] = job
            self._waiting.push(job.device, job.run_id, job.owner)
        threading.Thread(target=self._supervise, args=(job,), name=f"job-{job.run_id}",
                         daemon=True).start()
        return job.run_id

    # -- controlling -----------------------------------------------------------------------

    def stop(self, run_id: str, reason: str = "") -> None:
        """Ask a job to stop: a queued one leaves the queue; a running one checkpoints and ends
        after its current step (the trainer checks for a STOP file every step). ``reason``
        becomes the stopped run's status error."""
        self._check_writable()
        with self._lock:
            job = self._jobs.get(run_id)
            if job is not None and job.state == "queued":
                self._waiting.remove(job.device, run_id)
                job.state = "finished"
                Run(job.run_dir).transition("stopped", ended_at=now_iso(),
                                            error=reason or "stopped before it started")
                self._lock.notify_all()
                return
        (Run(job.run_dir) if job is not None else self.store.get(run_id)).request_stop(reason)
        if not self.owns_queue:
            signal_handoff(self.store.root)  # a queued run's owner drops it

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def counts(self) -> dict[str, int]:
        """{"running": n, "queued": m}: the jobs training now and those waiting, as the queue
        has them at this moment (what the sidebar shows); a replica's, as the folder has them
        (read once a second at most: every page of every session asks)."""
        if self.replica:
            at, counted = self._counted
            if time.monotonic() - at > HANDOFF_S:
                states = [status["state"] for _run, status, _job in active_runs(self.store)]
                counted = {"running": states.count("running"), "queued": states.count("queued")}
                self._counted = (time.monotonic(), counted)
            return dict(counted)
        with self._lock:
            states = [j.state for j in self._jobs.values()]
        return {"running": states.count("running"), "queued": states.count("queued")}

    @property
    def closing(self) -> bool:
        """The server is leaving: no more jobs start (a sweep stops asking for trials)."""
        return self._closing

    @property
    def idle(self) -> bool:
        """No job is queued or training (a calibration may take the cores)."""
        return not any(self.counts().values())

    def _active_ids(self) -> set[str]:
        return {j.run_id for j in self._active_jobs()}

    def active_queued_by(self, who: str) -> int:
        """Shared (lesson) runs queued or running that ``who``'s clicks queued."""
        return sum(j.queued_by == who for j in self._active_jobs())

    def _active_jobs(self) -> list[Job]:
        """The queued and running jobs: this queue's, or on a replica the folder's (every
        replica admits runs; the folder is what they share)."""
        if self.replica:
            return [Job(run.id, run.dir, "", owner=job.owner.id,
                        queued_by=job.queued_by.id if job.queued_by else None,
                        capped=job.capped and job.sweep is None)
                    for run, _status, job in active_runs(self.store)]
        with self._lock:
            return [j for j in self._jobs.values() if j.state != "finished"]

    def _active_count(self, owner: str | None = None) -> int:
        """Queued or running jobs (of one owner, or everyone's)."""
        return self._count_active(lambda j: owner in (None, j.owner))

    def _capped_count(self) -> int:
        """Queued or running jobs that count against a class's queue cap (``Job.capped``)."""
        return self._count_active(lambda j: j.capped)

    def _active_of(self, owners: frozenset[str]) -> int:
        """Queued or running jobs of any of ``owners``."""
        return self._count_active(lambda j: j.owner in owners)

    def _count_active(self, keep) -> int:
        """Queued or running jobs for which ``keep(job)`` holds."""
        return sum(bool(keep(j)) for j in self._active_jobs())

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        """Block until the job has finished; True if it did within ``timeout`` seconds."""
        with self._lock:
            return self._lock.wait_for(lambda: self._jobs[run_id].state == "finished", timeout)

    def close(self, timeout: float = 60.0) -> None:
        """Server exit: each running job checkpoints and stops (its run resumable), queued runs
        stay queued in their folders for the next server, the folder lock is released."""
        self._closing = True
        self.executor.close()
        with self._lock:
            running = [j for j in self._jobs.values() if j.state == "running"]
            self._lock.notify_all()  # queued supervisors see _closing and leave
        for job in running:
            # The trainer's own cue, wherever it runs, carrying the reason; a local child's
            # stdin closes too (handle.stop): whichever it sees first, the status says why.
            Run(job.run_dir).request_stop(SERVER_GONE)
            if job.handle is not None:
                job.handle.stop()
        deadline = time.monotonic() + timeout
        for job in running:
            with self._lock:
                finished = self._lock.wait_for(lambda j=job: j.state == "finished",
                                               max(0.0, deadline - time.monotonic()))
            if finished:  # a child that ended on its own before it read the STOP file
                Run(job.run_dir).take_stop_request()
        self._unlock_folder()

    def shutdown(self) -> None:
        """Stop every job and the warm child (used by tests and at server exit)."""
        self.executor.close()
        for job in self.jobs():
            if job.state != "finished":
                self.stop(job.run_id)

    # -- the supervising thread ------------------------------------------------------------

    @property
    def owns_queue(self) -> bool:
        """Whether this manager starts the folder's runs (it holds the folder's lock)."""
        return self._folder_owner is None

    @property
    def read_only(self) -> str | None:
        """None, or why this manager may not run jobs (in the reader's language). A replica
        never is: it hands its runs to the queue's owner (so does ``hand_off_to_owner``'s)."""
        if self._folder_owner is None or self.replica:
            return None
        return _("another workbench server ({owner}) runs the jobs of {root}; this one is read-only: runs can "
                 "be watched, not started or stopped").format(owner=self._folder_owner, root=self.store.root)

    def _supervise(self, job: Job) -> None:
        set_language("en")  # this thread writes run folders (status errors): English, a contract
        with self._lock:
            self._lock.wait_for(lambda: job.state == "finished" or self._closing or (
                self._waiting.next(job.device) == job.run_id
                and self._running[job.device] < self.executor.slots(job.device)))
            if job.state == "finished" or self._closing:  # stopped while queued, or server exit
                job.state = "finished"
                self._lock.notify_all()
                return
            self._waiting.start(job.device, job.run_id)
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
        launch = Launch(job.run_id, job.run_dir, self._child_command(job), self._child_env(),
                        run.log_path, job.device, job.processes)
        try:
            job.handle = self.executor.start(launch)
        except Exception as e:  # OSError locally; the cluster's own errors elsewhere
            run.transition("failed", ended_at=now_iso(),
                           error=f"could not start the training process ({self.executor.name}): "
                                 f"{str(e).splitlines()[0][:300] if str(e) else type(e).__name__}")
            return
        if self.executor.name != "local":
            run.record(executor=self.executor.name, where=job.handle.where)
        ended = job.handle.wait()
        job.returncode = ended.returncode
        # A stop asked for as the child was leaving (Stop clicked at the last step, a server
        # closing as a sweep's last trial ended) would otherwise stop the run's next resume.
        run.take_stop_request()
        self._record_exit(job, ended)

    # -- the folder lock and recovery -------------------------------------------------------

    def _lock_folder(self) -> str | None:
        """Take the runs folder's lock; None, or who holds it (this manager is then read-only).

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
            return owner
        self._lock_handle.seek(0)
        self._lock_handle.truncate()
        self._lock_handle.write(owner_line(os.getpid(), hostname(), now_iso(), self.instance))
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
        queued, remote = [], []
        for run in self.store.runs():
            try:
                status = read_status(run.dir)
            except RunError:
                continue  # a damaged run is left as it is (RunStore warns when listing)
            if status.get("state") == "queued":
                queued.append((status.get("queued_at") or status.get("created_at") or "", run))
            elif status.get("state") == "running" and status.get("executor") and not is_stale(status):
                remote.append(run)  # its job may outlive its server: alive by its heartbeat
        self._stop_orphans(remote)
        self.store.mark_interrupted(states=("running",))
        for _queued_at, run in sorted(queued, key=lambda item: item[0]):
            job = run.job
            device = self.executor.device_type(TrainConfig.from_dict(run.config).device)
            processes = min(job.processes, self.executor.device_count(device))
            run.record(pid=os.getpid(), host=hostname(), server=self.instance)
            self._enqueue(Job(run.id, run.dir, device, resume=job.resume, processes=processes,
                              owner=job.owner.id,
                              queued_by=job.queued_by.id if job.queued_by else None,
                              capped=job.sweep is None))

    # -- replicas: the folder is the queue they share ---------------------------------------

    def _follow_the_folder(self) -> None:
        """A replica's thread: the owner adopts the runs other replicas queued (and drops the
        queued ones they asked to stop); the others try the folder's lock, and the first to get
        it when the owner dies takes the queue over."""
        set_language("en")  # writes run folders
        while True:
            time.sleep(HANDOFF_S)
            if self._closing:
                return
            try:
                if self.owns_queue:
                    self._adopt()
                else:
                    holder = self._lock_folder()
                    if holder is None:
                        self._take_over()
                    else:
                        self._folder_owner = holder
                if self.owns_queue:
                    for hook in list(self._owner_hooks):
                        hook()
            except Exception as e:  # the folder is shared: one bad run must not end the thread
                warnings.warn(f"replica: {type(e).__name__}: {e}", stacklevel=1)

    def when_owner(self, hook) -> None:
        """Call ``hook()`` every ``HANDOFF_S`` while this replica owns the queue, from the
        moment it takes it over (the sweeps carry on there: ``sweeps.Sweeps.carry_on``)."""
        self._owner_hooks.append(hook)

    def _watch_handoffs(self) -> None:
        """The owner's thread when it is no replica: adopt what a process beside it (a CLI
        ``train --executor`` or ``sweep``) handed over, when the hand-off file changed."""
        set_language("en")  # writes run folders
        seen = signature(self.store.root / HANDOFF_FILE)
        while not self._closing:
            time.sleep(HANDOFF_S)
            now = signature(self.store.root / HANDOFF_FILE)
            if now != seen and not self._closing:
                seen = now
                try:
                    self._adopt()
                except Exception as e:  # one bad run must not end the thread
                    warnings.warn(f"handoffs: {type(e).__name__}: {e}", stacklevel=1)

    def _adopt(self) -> None:
        """Queue what another replica queued in the folder; stop a queued job it asked to stop."""
        with self._lock:
            known = dict(self._jobs)
        new = []
        for run, status, _job in active_runs(self.store):
            if run.id not in known and status["state"] == "queued":
                new.append((status.get("queued_at") or status.get("created_at") or "", run))
        for _queued_at, run in sorted(new, key=lambda item: item[0]):  # in the order they were queued
            self._enqueue_folder_run(run)
        for job in known.values():
            if job.state == "queued" and Run(job.run_dir).stop_path.exists():
                self.stop(job.run_id, Run(job.run_dir).take_stop_request() or "")

    def _enqueue_folder_run(self, run: Run) -> None:
        job = run.job
        device = self.executor.device_type(TrainConfig.from_dict(run.config).device)
        run.record(pid=os.getpid(), host=hostname(), server=self.instance)
        self._enqueue(Job(run.id, run.dir, device, resume=job.resume,
                          processes=min(job.processes, self.executor.device_count(device)),
                          owner=job.owner.id, queued_by=job.queued_by.id if job.queued_by else None,
                          capped=job.capped and job.sweep is None))

    def _take_over(self) -> None:
        """The owner died and this replica holds the lock now: the dead owner's children
        checkpoint and leave (their stdin closed with it), the runs they trained go back in the
        queue to resume from their checkpoints, then every queued run is queued here. No run
        trains twice: a run is resumed only once its old process wrote how it ended."""
        dead = instance_of(self._folder_owner)
        self._folder_owner = None
        training = [run for run in self.store.runs()
                    if run.status.get("server") == dead and run.state == "running"]
        _settle(training, SETTLE_S)
        self.store.mark_interrupted(states=("running",))
        for run in left_by(self.store, dead):
            device = self.executor.device_type(TrainConfig.from_dict(run.config).device)
            processes = min(int(run.config.get("world_size") or 1), self.executor.device_count(device))
            write_resume_job(run, epochs=None, max_steps=None, processes=processes)
            self._queue(run)
        self._recover()

    def _stop_orphans(self, runs: list[Run], settle_s: float = 60.0) -> None:
        """Runs a killed server had released to a cluster may still train there (a Slurm job
        outlives its submitter): ask each to stop (its STOP file, read every step) and give
        them ``settle_s`` to checkpoint, so that no run is resumed while its old job still
        writes to it. What still says running after that becomes interrupted."""
        for run in runs:
            run.request_stop(SERVER_GONE)
        for run in _settle(runs, settle_s):
            run.take_stop_request()

    def _child_command(self, job: Job) -> list[str]:
        child = ["-m", "resnet_core.jobs.child", str(job.run_dir)]
        if job.processes == 1:
            return [self.python, *child]
        # torchrun's standalone mode: a local rendezvous on a free port, N ranks.
        return [self.python, "-m", "torch.distributed.run", "--standalone",
                f"--nproc_per_node={job.processes}", *child]

    # -- the child's environment ---------------------------------------------------------

    def _child_env(self) -> dict:
        """What a training child gets on top of the node's environment."""
        env = {"PYTHONUNBUFFERED": "1", SUPERVISED: "1",
               JOB_THREADS: str(job_threads(self.max_running) if isinstance(self.executor, LocalExecutor)
                                else max(1, getattr(self.executor, "cpus_per_run", 1)))}
        if self.policy is not None and settings().job_nice is None:
            # A class server's pages are cheap reruns (fragments, shared reads): its jobs keep
            # the server's priority, so thirty viewers cost training little (RESULTS.md).
            env[JOB_NICE] = "0"
        return env

    def _record_exit(self, job: Job, ended: Exit) -> None:
        """A child that died without saying so (SIGKILL, OOM kill, crash) leaves the run failed;
        one its executor lost (a dead worker or node, a cancelled job) leaves it interrupted,
        with why: Resume continues it from its last checkpoint, on any node."""
        run = Run(job.run_dir)
        if ended.lost is not None:
            self._record_lost(run, ended.lost)
            return
        if read_status(run.dir).get("state") not in ACTIVE_STATES:
            return  # the trainer wrote its own ending: completed, stopped or failed
        rc = ended.returncode
        if rc is not None and rc < 0:
            name = signal.Signals(-rc).name
            hint = " (the system may have run out of memory)" if rc == -signal.SIGKILL else ""
            error = f"the training process was killed by {name}{hint}"
        else:
            error = f"the training process exited with code {rc}: {_last_line(run.log_path)}"
        run.transition("failed", ended_at=now_iso(), error=error)

    def _record_lost(self, run: Run, why: str, settle_s: float = 30.0) -> None:
        """The executor lost the run's carrier. The child may still be ending (its stdin closed
        with its worker: it checkpoints and stops), so wait for its status to settle, up to
        ``settle_s``; then the run is interrupted with the executor's reason, unless it ended
        on its own (completed, failed, or stopped by a user)."""
        _settle([run], settle_s)
        status = read_status(run.dir)
        if status.get("state") in ACTIVE_STATES or (
                status.get("state") == "stopped" and status.get("error") == SERVER_GONE):
            run.transition("interrupted", ended_at=now_iso(), error=why)


def make_executor(name: str | None = None, *, runs_dir: Path, max_running_per_device: int = 1,
                  warm: bool = False, python: str = sys.executable, env=None) -> Executor:
    """The executor ``name`` names (default: RESNET_WORKBENCH_EXECUTOR), set up from the
    settings (Ray's address, Slurm's partition, cores per run); a one-line ConfigError for
    any other name, or for a cluster that is not there. ``env``: the child's variables (the
    local executor's warm child needs them before any job exists)."""
    s = settings()
    name = (name or s.executor).strip().lower()
    if name == "local":
        return LocalExecutor(max_running_per_device, warm=warm, python=python, env=env)
    if name == "ray":
        from resnet_core.jobs.ray_cluster import RayExecutor

        return RayExecutor(s.ray_address, cpus_per_run=s.cpus_per_run)
    if name == "slurm":
        from resnet_core.jobs.slurm import SlurmExecutor

        return SlurmExecutor(Path(runs_dir) / ".slurm", partition=s.slurm_partition,
                             cpus_per_run=s.cpus_per_run)
    raise ConfigError(_("executor must be one of {names}; got {name}").format(
                          names=', '.join(EXECUTORS), name=f"{name!r}"))


def _settle(runs: list[Run], within_s: float) -> list[Run]:
    """Wait up to ``within_s`` for each run's child to write how it ended (a state that is
    not queued or running); the runs still active after that. A run whose writer is known
    gone (its pid dead on this host: a Ray worker ended with its killed driver) will never
    write again, so it is not waited for: a restarted server no longer sits out the whole
    window for it (60 s on a Ray head; RESULTS.md, "CI's wall time, tenth")."""
    deadline = time.monotonic() + within_s
    while True:
        active = [(r, s) for r in runs if (s := read_status(r.dir)).get("state") in ACTIVE_STATES]
        runs = [r for r, _ in active]
        if not runs or time.monotonic() >= deadline or all(is_stale(s) for _, s in active):
            return runs
        time.sleep(0.2)


def _last_line(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except FileNotFoundError:
        return "no output"
    return lines[-1][-300:] if lines else "no output"


def hand_off_to_owner(root: Path, **kwargs) -> JobManager:
    """A manager for a process beside a running server (the CLI's ``train --executor`` and
    ``sweep``): it queues runs in the folder for the server that owns the queue, which trains
    them on its executor, and never takes the queue over."""
    return JobManager(root, replica=True, take_over=False, warm_worker=False, **kwargs)
