"""A sweep as people look at it: the trial table and the figures. Optuna draws the figures it
has (best so far, parallel coordinates, parameter importances: the same code as Optuna's own
dashboards); the per-epoch curves are drawn here so that pruned trials can be greyed.

Reading only: the journal is read, never written, so a second server shows the same sweep.
"""

from __future__ import annotations

from resnet_core.analysis.palette import GREY, PALETTE, style
from resnet_core.i18n import _
from resnet_core.runs.folder import Run, read_status
from resnet_core.sweeps.study import Sweep, trial_runs  # noqa: F401 - public through the wing

STATE_NAMES = {"RUNNING": "running", "COMPLETE": "completed", "PRUNED": "pruned",
               "FAIL": "failed", "WAITING": "waiting"}


def trials_of(sweep: Sweep, study=None) -> list:
    """The study's trials (FrozenTrial), oldest first."""
    study = study or sweep.study()
    return study.get_trials(deepcopy=False)


def trial_table(trials: list, runs: dict[int, Run]):
    """One row per trial: number, state, value (best validation accuracy, or the last one
    reported for a pruned trial), epochs reached, each searched parameter, the run's id."""
    import pandas as pd

    rows = []
    for t in trials:
        run = runs.get(t.number)
        status = read_status(run.dir) if run is not None else {}
        state = STATE_NAMES.get(t.state.name, t.state.name.lower())
        if state == "running" and status.get("state") == "queued":
            state = "queued"
        value = t.value if t.value is not None else (
            max(t.intermediate_values.values()) if t.intermediate_values else None)
        rows.append({"trial": t.number, "state": state, "val accuracy": value,
                     "epochs": max(t.intermediate_values, default=0), **t.params,
                     "run": run.id if run is not None else t.user_attrs.get("run_id"),
                     "note": t.user_attrs.get("error", "")})
    return pd.DataFrame(rows)


def describe(trials: list) -> str:
    """The sweep's charts in one line of words (their text alternative; the numbers are in
    the trial table)."""
    done = [t for t in trials if t.value is not None and t.state.name == "COMPLETE"]
    pruned = sum(t.state.name == "PRUNED" for t in trials)
    if not done:
        return _("{n} trials so far, {pruned} pruned, none completed yet.").format(n=len(trials), pruned=pruned)
    best = max(done, key=lambda t: t.value)
    params = ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                       for k, v in best.params.items())
    return _("{n} trials: {done} completed, {pruned} pruned (grey in the curves); best validation "
             "accuracy {best}% by trial {trial} ({params}). The trial table above has every number.").format(
        n=len(trials), done=len(done), pruned=pruned, best=f"{100 * best.value:.1f}", trial=best.number,
        params=params)


def best_so_far(study):
    """Optuna's optimization history: each finished trial's value and the best so far."""
    from optuna.visualization import plot_optimization_history

    return _tidy(plot_optimization_history(study), _("Best validation accuracy so far"))


def parallel_coordinates(study):
    """Optuna's parallel-coordinate plot of the searched parameters against the value."""
    from optuna.visualization import plot_parallel_coordinate

    return _tidy(plot_parallel_coordinate(study), _("Parameters of every finished trial"))


# Below these, a chart or a pruner says less than it seems to (issue 38, item 7). PED-ANOVA
# compares the top 10% of the finished trials with all of them: under 10 its "top" is one
# trial, and Optuna only warns on the console ("Parameter importances will be equal").
MIN_IMPORTANCE_TRIALS = 10
# ASHA keeps the best third at each rung (reduction factor 3): with fewer than 9 trials the
# first trials at a rung have nobody to be compared with, so they always go on.
MIN_ASHA_TRIALS = 9


def caveats(config, finished: int | None = None) -> list[str]:
    """What the page and the CLI say when a sweep is too small for its pruner or its charts to
    mean much, given ``finished`` trials with a result (None: before it starts, the pruner's
    caveat only)."""
    said = []
    if config.pruner == "asha" and config.planned_trials() < MIN_ASHA_TRIALS:
        said.append(_("With {trials} trials the ASHA pruner has too few to compare at each rung: the "
                      "first trials always go on. Use {least} or more trials, or the pruner 'none'.").format(
            trials=config.planned_trials(), least=MIN_ASHA_TRIALS))
    if finished is not None and finished < MIN_IMPORTANCE_TRIALS:
        said.append(_("Parameter importances need {least} finished trials ({finished} so far): with "
                      "fewer they are noise, so they are not drawn yet.").format(
            least=MIN_IMPORTANCE_TRIALS, finished=finished))
    return said


def importances(study):
    """Optuna's parameter importances on the finished trials; None until there are
    MIN_IMPORTANCE_TRIALS of them and two differ.

    PED-ANOVA (Optuna's evaluator for this), not its default fANOVA: on 100 trials here it
    took 0.03 s against 0.15 s, and fANOVA's random forest draws a different answer on every
    redraw unless seeded (benchmarks/RESULTS.md, "Sweeps")."""
    from optuna.importance import PedAnovaImportanceEvaluator
    from optuna.visualization import plot_param_importances

    finished = [t for t in study.get_trials(deepcopy=False) if t.value is not None]
    if len(finished) < MIN_IMPORTANCE_TRIALS or len({t.value for t in finished}) < 2:
        return None
    try:
        fig = plot_param_importances(study, evaluator=PedAnovaImportanceEvaluator())
    except (RuntimeError, ValueError):  # e.g. one searched parameter never varied yet
        return None
    return _tidy(fig, _("Which parameters mattered"))


def epoch_curves(trials: list):
    """Validation accuracy per epoch of every trial; pruned trials in grey, the rest coloured
    (the data of Optuna's plot_intermediate_values, with the pruner's choices visible).

    Built from plain dicts without Plotly's validation: 6 ms for 100 trials instead of 110
    (the live view redraws it whenever a trial reports an epoch)."""
    import plotly.graph_objects as go

    traces = []
    for t in trials:
        if not t.intermediate_values:
            continue
        steps = sorted(t.intermediate_values)
        pruned = t.state.name == "PRUNED"
        traces.append({
            "type": "scatter", "x": steps, "y": [t.intermediate_values[s] for s in steps],
            "mode": "lines+markers",
            "name": (_("trial {n} (pruned)") if pruned else _("trial {n}")).format(n=t.number),
            "line": {"color": GREY, "width": 1} if pruned else {"width": 2},
            "marker": {"size": 4}})
    layout = {"title": {"text": _("Validation accuracy per epoch (pruned trials in grey)")},
              "xaxis": {"title": {"text": _("epoch")}}, "yaxis": {"title": {"text": _("validation accuracy")}},
              "margin": {"t": 40, "b": 40}, "height": 360}
    return go.Figure({"data": traces, "layout": {**layout, "colorway": list(PALETTE)}}, _validate=False)


def _tidy(fig, title: str):
    fig.update_layout(title=title, margin={"t": 40, "b": 40}, height=360)
    return style(fig)
