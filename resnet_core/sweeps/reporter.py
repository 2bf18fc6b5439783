"""Inside a trial's training child: report each epoch's validation accuracy to the trial and,
when the pruner says so, stop the run through its STOP file (the Stop button's path) with the
reason that makes its state "pruned"."""

from __future__ import annotations

import time

from resnet_core.events import Callback
from resnet_core.runs.folder import PRUNED, SWEEPS_DIR, Run
from resnet_core.sweeps.study import Sweep


class TrialReporter(Callback):
    """Reports a sweep trial's validation accuracy per epoch; prunes it when Optuna says so.

    A trial that is no longer running in the study (a pruned run resumed by hand, a sweep
    already told) is left alone: the run trains on as an ordinary run."""

    def __init__(self, run: Run, sweep_id: str, trial: int) -> None:
        self.run = run
        self.sweep = Sweep(run.dir.parent / SWEEPS_DIR / sweep_id)
        self.number = trial
        self.trial = None  # the Optuna Trial, loaded when training starts
        self.reported: set[int] = set()  # epochs the trial already has a value for
        self.seconds = 0.0  # spent in Optuna (load, report, prune decisions): the overhead

    def on_train_start(self, state) -> None:
        """Called when training begins: load the study and find this run's trial."""
        import optuna

        start = time.perf_counter()
        storage = self.sweep.storage()
        study = self.sweep.study(storage=storage)
        study_id = storage.get_study_id_from_name(self.sweep.id)
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, self.number)
        frozen = storage.get_trial(trial_id)
        if frozen.state == optuna.trial.TrialState.RUNNING:
            self.trial = optuna.trial.Trial(study, trial_id)
            self.reported = set(frozen.intermediate_values)  # before a crash and resume
        self.seconds += time.perf_counter() - start

    def on_epoch_end(self, state, logs) -> None:
        """Called after each epoch's validation: report it; stop the run if it is pruned."""
        if self.trial is None:
            return
        start = time.perf_counter()
        if state.epoch not in self.reported:
            self.trial.report(float(logs["accuracy"]), step=state.epoch)
            self.reported.add(state.epoch)
        if self.trial.should_prune():
            self.run.request_stop(PRUNED)
        self.seconds += time.perf_counter() - start
        self.run.record(sweep_overhead_s=round(self.seconds, 4))
