"""The sweeps wing: hyperparameter searches with Optuna whose trials are ordinary runs on
the job queue. The search space (space.py), a sweep's folder and study (study.py), the
reporter inside a trial's training child (reporter.py), the process that runs a sweep
(runner.py) and what the Sweep page shows (charts.py).

The names below are the wing's public surface (the pages use the wing through them); each
loads its module on first use, so importing the wing costs nothing.
"""

from resnet_core.lazy import lazy_exports

# public name -> the module of this wing that defines it
PUBLIC = {
    "best_so_far": "charts",
    "describe": "charts",
    "caveats": "charts",
    "epoch_curves": "charts",
    "importances": "charts",
    "parallel_coordinates": "charts",
    "trial_runs": "charts",
    "trial_table": "charts",
    "trials_of": "charts",
    "FORMS": "space",
    "FORM_SEARCH": "space",
    "form_options": "space",
    "SEARCHABLE": "space",
    "Param": "space",
    "SearchSpace": "space",
    "parse_param": "space",
    "MAX_PARALLEL": "study",
    "MAX_TRIALS": "study",
    "PRUNERS": "study",
    "SAMPLERS": "study",
    "Sweep": "study",
    "SweepConfig": "study",
    "get_sweep": "study",
    "list_sweeps": "study",
    "Sweeps": "runner",
    "SweepRunner": "runner",
}

__getattr__, __dir__ = lazy_exports(__name__, PUBLIC)
