"""Running a sweep: ask Optuna for a trial, queue it as a run, tell the study how it ended.

The runner keeps no state of its own that a crash could lose: each pass reads the journal
(which trials exist and which are still open) and the runs folder (job.json's ``sweep`` says
which run is which trial; status.json how it stands), and does what is missing:

    an open trial without a run        -> queue its run (its parameters are in the journal)
    ... whose parameters were never drawn (killed between ask and suggest) -> told failed
    its run completed / pruned / failed -> tell the study (value: the best validation accuracy)
    its run stopped because the app went away or the sweep was stopped, or interrupted
                                        -> resume it (the same run: no trial runs twice)
    its run stopped by hand             -> told failed ("stopped by hand")
    fewer open trials than ``parallel`` and fewer trials than planned -> ask for the next

So after a ``kill -9`` of the process running it, the next one (a server on the same runs
folder, or ``sweep resume``) carries on where the files say it stands.

The runner uses the job manager through four calls (``submit``, ``resume``, ``stop`` and
``store``), so it works with whatever executes the runs.
"""

from __future__ import annotations

import threading
import time

from resnet_core.errors import RunError, WorkbenchError
from resnet_core.i18n import _, set_language
from resnet_core.runs.folder import SERVER_GONE, SWEEP_STOPPED, Run, now_iso, read_status
from resnet_core.runs.jobfile import LOCAL_OWNER, Owner, SweepTrial
from resnet_core.sweeps.study import Sweep, SweepConfig, create_sweep, list_sweeps, trial_runs
from resnet_core.training.config import TrainConfig

POLL_S = 0.5  # between passes (a pass reads the journal's new lines and the trials' status.json)
BY_HAND = "stopped by hand"


def _trial_state():
    from optuna.trial import TrialState

    return TrialState


class SweepRunner:
    """Runs one sweep to its end in this process (the one holding the runs folder's lock)."""

    def __init__(self, sweep: Sweep, jobs, *, poll_s: float = POLL_S) -> None:
        self.sweep = sweep
        self.jobs = jobs
        # Whose its trials are, and whether the class's limits bound them: as sweep.json says
        # (the front door decided when it started or resumed the sweep; a restart carries it on).
        self.owner = sweep.owner
        self.limited = sweep.limited
        self.poll_s = poll_s
        self.config: SweepConfig = sweep.config
        self.space = self.config.space()
        self.storage = sweep.storage()
        self.study = sweep.study(self.config, storage=self.storage)
        self.study_id = self.storage.get_study_id_from_name(sweep.id)
        self._stop = threading.Event()
        self._runs: dict[int, Run] = {}
        self.overhead_s = 0.0  # ask, suggest, queue bookkeeping and tell, in this process
        self.error: str | None = None

    # -- the loop ---------------------------------------------------------------------------

    def run(self, on_pass=None) -> bool:
        """Pass until the sweep is done (True) or stopped (False); ``on_pass(runner)`` after each."""
        self._runs = self.runs_by_trial()
        while not self._stop.is_set() and not getattr(self.jobs, "closing", False):
            if self.sweep.state == "stopped":  # stopped by another process (a replica's page)
                return False
            done = self.step()
            if on_pass is not None:
                on_pass(self)
            if done:
                self.finish()
                return True
            self._stop.wait(self.poll_s)
        return False

    def step(self) -> bool:
        """One pass: settle the open trials, ask for new ones; True when every trial is told."""
        states = _trial_state()
        trials = self.study.get_trials(deepcopy=False)
        open_trials = 0
        for trial in trials:
            if trial.state == states.RUNNING:
                open_trials += not self._settle(trial)
        planned = self.config.planned_trials()
        while (open_trials < self.config.parallel and len(trials) < planned
               and not self._stop.is_set()):
            self._ask()
            trials = self.study.get_trials(deepcopy=False)
            open_trials += 1
        return len(trials) >= planned and open_trials == 0

    def stop(self) -> None:
        """End the loop after this pass (the trials are the caller's to stop)."""
        self._stop.set()

    def finish(self) -> None:
        best = self.best()
        self.sweep.set_state("completed", ended_at=now_iso(), best=best)

    def best(self) -> dict | None:
        """The best completed trial: {"trial", "value", "run_id", "params"}, or None."""
        states = _trial_state()
        done = [t for t in self.study.get_trials(deepcopy=False) if t.state == states.COMPLETE]
        if not done:
            return None
        trial = max(done, key=lambda t: t.value)
        run = self._runs.get(trial.number)
        return {"trial": trial.number, "value": trial.value, "params": dict(trial.params),
                "run_id": run.id if run is not None else trial.user_attrs.get("run_id")}

    # -- one trial ---------------------------------------------------------------------------

    def _ask(self) -> None:
        start = time.perf_counter()
        trial = self.study.ask()
        params = self.space.suggest(trial)
        self.overhead_s += time.perf_counter() - start
        self._queue(trial, params)

    def _queue(self, trial, params: dict) -> None:
        """Create and queue the trial's run; a config the manager refuses ends the trial failed."""
        config = self.trial_config(trial.number, params)
        try:
            run_id = self.jobs.submit(config, owner=self.owner, limited=self.limited,
                                      sweep=SweepTrial(self.sweep.id, trial.number))
        except WorkbenchError as e:
            trial.set_user_attr("error", str(e))
            self._tell(trial.number, state=_trial_state().FAIL)
            return
        start = time.perf_counter()
        self._runs[trial.number] = Run(self.jobs.store.root / run_id)
        trial.set_user_attr("run_id", run_id)
        self.overhead_s += time.perf_counter() - start

    def trial_config(self, number: int, params: dict) -> TrainConfig:
        """The run's config: the sweep's fixed settings with the trial's values."""
        values = {**self.config.base.to_dict(), **params,
                  "run_name": f"{self.config.name or 'sweep'} #{number}"}
        return TrainConfig.from_dict(values)

    def _settle(self, frozen) -> bool:
        """Bring an open trial forward; True if it is now told (closed)."""
        states = _trial_state()
        run = self._runs.get(frozen.number)
        if run is None:
            self._runs = self.runs_by_trial()  # another process may have queued it
            run = self._runs.get(frozen.number)
        if run is None:
            trial = self._trial(frozen.number)
            if set(frozen.params) >= set(self.space.names):
                self._queue(trial, dict(frozen.params))
                return frozen.number not in self._runs
            self._tell(frozen.number, state=states.FAIL)  # killed between ask and suggest
            return True
        status = read_status(run.dir)
        state, error = status.get("state"), status.get("error")
        start = time.perf_counter()
        try:
            if state == "completed":
                value = status.get("best_val_accuracy")
                if value is None:
                    self._tell(frozen.number, state=states.FAIL)
                else:
                    self._tell(frozen.number, float(value))
                return True
            if state == "pruned":
                self._tell(frozen.number, state=states.PRUNED)
                return True
            if state == "failed" or (state == "stopped" and error not in (SERVER_GONE, SWEEP_STOPPED)):
                if state == "stopped":
                    self._trial(frozen.number).set_user_attr("error", BY_HAND)
                self._tell(frozen.number, state=states.FAIL)
                return True
        finally:
            self.overhead_s += time.perf_counter() - start
        if state in ("stopped", "interrupted") and not self._stop.is_set():
            try:  # the app went away, or the sweep was stopped: the same run goes on
                self.jobs.resume(run.id, owner=self.owner, limited=self.limited)
            except RunError:
                pass  # already queued again (the manager's own recovery)
        return False

    def _tell(self, number: int, value: float | None = None, *, state=None) -> None:
        """Tell the study how trial ``number`` ended. The grid sampler calls ``study.stop()``
        once its grid is used up, which Optuna allows only inside ``optimize`` (a
        RuntimeError here); the trial's end is stored before that, so it is let go."""
        try:
            self.study.tell(number, value, state=state)
        except RuntimeError as e:
            if "Study.stop" not in str(e):
                raise

    def _trial(self, number: int):
        """The open trial ``number`` as an Optuna Trial (to queue it or note why it ended)."""
        import optuna

        trial_id = self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)
        return optuna.trial.Trial(self.study, trial_id)

    def runs_by_trial(self) -> dict[int, Run]:
        """{trial number: Run} from job.json's ``sweep`` field of every run in the folder."""
        return trial_runs(self.sweep, self.jobs.store.runs())


def stop_trials(sweep: Sweep, jobs) -> None:
    """Mark the sweep stopped and stop its queued and running trials with the reason that
    lets ``resume`` carry them on (each checkpoints first, like the Stop button)."""
    sweep.set_state("stopped")
    for run in trial_runs(sweep, jobs.store.runs()).values():
        if read_status(run.dir).get("state") in ("queued", "running"):
            jobs.stop(run.id, reason=SWEEP_STOPPED)


class Sweeps:
    """The sweeps of one runs folder, run by this process's job manager: one thread per
    running sweep. A manager that may not run jobs (another server holds the folder) only
    reads them. Of several replicas, the queue's owner runs every running sweep: one started or
    resumed on another replica is picked up within a second (``carry_on``), and when the owner
    dies the replica that takes the queue over carries its sweeps on. Made by the Workbench;
    ``close`` at server exit (the trials' runs are the manager's to stop, and the next server
    resumes the sweeps that were running)."""

    def __init__(self, jobs) -> None:
        self.jobs = jobs
        self.root = jobs.store.root
        self._lock = threading.Lock()
        self._runners: dict[str, tuple[SweepRunner, threading.Thread]] = {}
        if jobs.owns_queue:
            self.carry_on()
        if hasattr(jobs, "when_owner"):
            jobs.when_owner(self.carry_on)  # replicas: each second while it owns the queue

    def carry_on(self) -> None:
        """Called when this process owns the queue: run every running sweep that has no runner
        here (the sweeps a dead owner ran, or that another replica started)."""
        for sweep in list_sweeps(self.root):
            if sweep.state == "running":
                self._start_runner(sweep)

    def list(self) -> list[Sweep]:
        return list_sweeps(self.root)

    def start(self, config: SweepConfig, *, owner: Owner = LOCAL_OWNER,
              limited: bool = True) -> Sweep:
        """Create a sweep and run it in the background; return it at once. ``limited``: the
        class's student limits bound its trials (the front door decides; kept in sweep.json)."""
        self._check_writable()
        sweep = create_sweep(self.root, config, owner=owner, limited=limited)
        if self.jobs.owns_queue:  # else the owner picks it up (``carry_on``)
            self._start_runner(sweep)
        return sweep

    def stop(self, sweep: Sweep) -> None:
        """Stop the sweep: no new trials; its queued and running trials stop (resumable)."""
        self._check_writable()
        with self._lock:
            entry = self._runners.pop(sweep.id, None)
        if entry is not None:
            entry[0].stop()
            entry[1].join(timeout=10)
        stop_trials(sweep, self.jobs)

    def resume(self, sweep: Sweep, *, limited: bool = True) -> None:
        """Carry a stopped (or orphaned) sweep on: its stopped trials resume, new ones follow
        (its trials stay its starter's), bound as ``limited`` says (sweep.json keeps it for a
        later restart)."""
        self._check_writable()
        if sweep.state == "completed":
            raise RunError(_("sweep {id} has completed all its trials").format(id=sweep.id))
        sweep.set_state("running", limited=limited)
        if self.jobs.owns_queue:
            self._start_runner(sweep)

    def runner(self, sweep_id: str) -> SweepRunner | None:
        with self._lock:
            entry = self._runners.get(sweep_id)
        return entry[0] if entry else None

    def close(self) -> None:
        with self._lock:
            entries = list(self._runners.values())
            self._runners.clear()
        for runner, _thread in entries:
            runner.stop()
        for _runner, thread in entries:
            thread.join(timeout=10)

    def _start_runner(self, sweep: Sweep) -> None:
        with self._lock:
            if sweep.id in self._runners and self._runners[sweep.id][1].is_alive():
                return
            runner = SweepRunner(sweep, self.jobs)
            thread = threading.Thread(target=self._run, args=(runner,), daemon=True,
                                      name=f"sweep-{sweep.id}")
            self._runners[sweep.id] = (runner, thread)
        thread.start()

    def _run(self, runner: SweepRunner) -> None:
        set_language("en")  # sweep.json's errors: the sweep folder's, in English
        try:
            runner.run()
        except Exception as e:  # noqa: BLE001 - said in sweep.json; the server keeps running
            runner.error = f"{type(e).__name__}: {e}"
            runner.sweep.set_state("stopped", error=runner.error)
        finally:
            with self._lock:
                if self._runners.get(runner.sweep.id, (None,))[0] is runner:
                    del self._runners[runner.sweep.id]

    def _check_writable(self) -> None:
        if self.jobs.read_only is not None:
            raise RunError(self.jobs.read_only)
