"""Sweep: search the Train form's fields with Optuna; watch the trials live; train the best longer."""

from __future__ import annotations

import streamlit as st

from resnet_core import TrainConfig, WorkbenchError, analysis, data, i18n, sweeps, training
from resnet_core.i18n import N_, _, ngettext

from pages.announce import announce
from pages.common import (
    REFRESH_S,
    keep_job_counts_current,
    manager,
    runs_dir,
    session,
    state_name,
    store,
    unlinked,
)
from pages.language import fragment

# The form's labels; which fields, and the search each starts from, are the core's
# (sweeps.FORM_SEARCH); a field not searched starts at TrainConfig's default.
LABELS = {"lr": N_("Learning rate"), "weight_decay": N_("Weight decay"), "label_smoothing": N_("Label smoothing"),
          "arch": N_("Architecture"), "batch_size": N_("Batch size"), "optimizer": N_("Optimizer"),
          "scheduler": N_("Schedule"), "norm": N_("Normalisation"), "augment": N_("Augmentation")}
DEFAULTS = TrainConfig()


def field_row(name: str) -> tuple[object, str | None]:
    """One field of the form: its fixed value, or (with "search this") its search spec."""
    label, start = _(LABELS[name]), sweeps.FORM_SEARCH[name]
    fixed = getattr(DEFAULTS, name)
    left, right = st.columns([1, 3])
    search = left.toggle(_("search {field}").format(field=label.lower()), key=f"search_{name}",
                         value=name == "lr", help=_("vary {field} over the trials").format(field=label.lower()))
    if not search:
        if start.kind == "choice":
            options = sweeps.form_options(name)
            value = right.selectbox(label, options, index=options.index(fixed), key=f"fixed_{name}")
        else:
            value = right.number_input(label, value=fixed, format="%g", key=f"fixed_{name}")
        return value, None
    if start.kind == "choice":
        chosen = right.multiselect(_("{field}: try each of").format(field=label), sweeps.form_options(name),
                                   default=list(start.choices), key=f"range_{name}", placeholder=_("Choose options"))
        return fixed, sweeps.Param(name, "choice", choices=tuple(chosen)).spec()
    low_col, high_col = right.columns(2)
    low = low_col.number_input(_("{field}: from").format(field=label), value=start.low, format="%g",
                               key=f"low_{name}")
    high = high_col.number_input(_("to (log scale)") if start.kind == "log" else _("to"),
                                 value=start.high, format="%g", key=f"high_{name}")
    return fixed, sweeps.Param(name, start.kind, low, high).spec()


def new_sweep() -> None:
    """The form: the fixed settings, the searched fields, the budget; Start."""
    top = st.columns(4)
    name = top[0].selectbox(_("Dataset"), [n for n, s in data.DATASETS.items() if s.offline]
                            + [n for n, s in data.DATASETS.items() if not s.offline], key="sweep_dataset")
    epochs = int(top[1].number_input(_("Epochs per trial"), 1, training.MAXIMUMS["epochs"], 10,
                                     key="sweep_epochs", help=_("the pruner decides at epoch ends")))
    trials = int(top[2].number_input(_("Trials"), 1, sweeps.MAX_TRIALS, 16, key="sweep_trials"))
    parallel = int(top[3].number_input(_("At once"), 1, sweeps.MAX_PARALLEL, 1, key="sweep_parallel",
                                       help=_("trials queued at once; the queue runs as many as "
                                              "the device allows")))
    low = st.columns(2)
    pruner = low[0].selectbox(_("Pruner"), sweeps.PRUNERS, key="sweep_pruner",
                              help=_("asha: successive halving, rungs at epochs 1, 3, 9, ... keep "
                                     "the best third; median: stop below the median at the same "
                                     "epoch; none: every trial runs all its epochs"))
    sampler = low[1].selectbox(_("Sampler"), sweeps.SAMPLERS, key="sweep_sampler",
                               help=_("tpe learns from the finished trials; grid takes lists only"))
    st.caption(_("Search this: each field either keeps one value for every trial or varies "
                 "over a range (log scale for rates) or a list. Trials are ranked by their best "
                 "validation accuracy; the test split stays unseen."))
    fixed, params = {}, []
    for field in LABELS:
        value, spec = field_row(field)
        if spec is None:
            fixed[field] = value
        else:
            params.append(spec)
    try:
        config = sweeps.SweepConfig(
            base=TrainConfig(dataset=name, epochs=epochs, **fixed), params=params, trials=trials,
            parallel=parallel, pruner=pruner, sampler=sampler).validate()
    except WorkbenchError as e:
        st.error(unlinked(e))
        return
    st.caption(ngettext("{n} trial of at most {epochs} epochs: {searched}",
                        "{n} trials of at most {epochs} epochs: {searched}", config.planned_trials()).format(
        n=config.planned_trials(), epochs=epochs, searched=", ".join(params) or _("nothing searched")))
    for caveat in sweeps.caveats(config):
        st.info(caveat)
    if st.button(_("Start sweep"), type="primary", disabled=manager().read_only is not None):
        try:
            started = session().start_sweep(config)
        except WorkbenchError as e:
            st.error(unlinked(e))
            return
        st.query_params["sweep"] = started.id
        st.rerun()


@st.cache_resource(max_entries=64, show_spinner=False)
def _study_figures(sweep_id: str, finished: tuple, _study, language: str):
    """Optuna's figures of the finished trials, drawn again only when one more finished (a live
    view's rerender costs what reading the journal does: benchmarks/sweep.py)."""
    if not finished:
        return {}
    return {"best": sweeps.best_so_far(_study), "parallel": sweeps.parallel_coordinates(_study),
            "importance": sweeps.importances(_study)}


@st.cache_resource(max_entries=64, show_spinner=False)
def _curves(sweep_id: str, reported: tuple, _trials, language: str):
    """The per-epoch curves, drawn again when a trial reported an epoch."""
    return sweeps.epoch_curves(_trials)


def show_sweep(sweep) -> None:
    """A sweep's live view: where it stands, its trials (each linked to its run), the charts."""
    study = sweep.study()
    trials = sweeps.trials_of(sweep, study)
    table = sweeps.trial_table(trials, sweeps.trial_runs(sweep, store().runs()))
    info = sweep.info
    planned = sweep.config.planned_trials()
    finished = int(table["state"].isin(["completed", "pruned", "failed"]).sum()) if len(table) else 0
    best = info.get("best") or (_best_row(table) if len(table) else None)
    pruned = int((table["state"] == "pruned").sum()) if len(table) else 0
    st.markdown(ngettext("**{sweep}** — {state}: {finished} of {planned} trial finished, {pruned} pruned",
                         "**{sweep}** — {state}: {finished} of {planned} trials finished, {pruned} pruned",
                         planned).format(sweep=sweep.id, state=state_name(info.get("state")),
                                         finished=finished, planned=planned, pruned=pruned))
    announce(analysis.announce_progress(_("Sweep {sweep}").format(sweep=sweep.id), finished, planned,
                                        unit=_("trials"))
             if info.get("state") == "running"
             else _("Sweep {sweep} is {state}.").format(sweep=sweep.id, state=state_name(info.get("state"))),
             key="sweep_status")
    if info.get("error"):
        st.error(unlinked(info["error"]))
    buttons = st.columns(4)
    read_only = manager().read_only is not None
    if info.get("state") == "running" and buttons[0].button(_("Stop sweep"), disabled=read_only):
        session().stop_sweep(sweep.id)
        st.rerun()
    if info.get("state") == "stopped" and buttons[0].button(_("Resume sweep"), disabled=read_only):
        session().resume_sweep(sweep.id)
        st.rerun()
    if best and best.get("run_id"):
        buttons[1].page_link("evaluate.py", label=_("Open the best run (trial {trial})").format(trial=best["trial"]),
                             icon=":material/analytics:", query_params={"run": best["run_id"]})
        longer = buttons[2].number_input(_("epochs"), 1, 10_000, 3 * sweep.config.epochs,
                                         key=f"longer_{sweep.id}", label_visibility="collapsed")
        if buttons[3].button(_("Train the best config longer"), disabled=read_only):
            config = TrainConfig.from_dict({**store().get(best["run_id"]).config, "epochs": int(longer),
                                            "max_steps": None, "run_name": f"{sweep.id} best, longer"})
            st.session_state["train_run_id"] = session().submit(config)
            st.switch_page("train.py")
    if len(table):
        shown = table.assign(run=[f"train?run={r}" if r else None for r in table["run"]],
                             state=[state_name(x) for x in table["state"]])
        headers = {"trial": _("trial"), "state": _("state"), "epochs": _("epochs"), "note": _("note")}
        st.dataframe(shown, hide_index=True, width="stretch", column_config={
            **{c: st.column_config.Column(h) for c, h in headers.items() if c in shown.columns},
            "run": st.column_config.LinkColumn(_("run"), display_text=r"train\?run=(.*)"),
            "val accuracy": st.column_config.NumberColumn(_("validation accuracy"), format="%.4f")})
    finished = tuple((t.number, t.state.name) for t in trials if t.value is not None)
    reported = tuple((t.number, t.state.name, len(t.intermediate_values)) for t in trials)
    figures = _study_figures(sweep.id, finished, study, i18n.language())  # titles in it
    st.caption(sweeps.describe(trials))
    for caveat in sweeps.caveats(sweep.config, finished=len(finished)):
        st.info(caveat)
    left, right = st.columns(2)
    left.plotly_chart(_curves(sweep.id, reported, trials, i18n.language()), key="curves")
    if figures:
        right.plotly_chart(figures["best"], key="best")
        left.plotly_chart(figures["parallel"], key="parallel")
        if figures["importance"] is not None:
            right.plotly_chart(figures["importance"], key="importance")


def _best_row(table) -> dict | None:
    done = table[table["state"] == "completed"]
    if done.empty:
        return None
    row = done.loc[done["val accuracy"].idxmax()]
    return {"trial": int(row["trial"]), "run_id": row["run"]}


st.title(_("Sweep"))
found = sweeps.list_sweeps(runs_dir())
with st.expander(_("New sweep"), expanded=not found or "sweep" not in st.query_params):
    new_sweep()
if found:
    ids = [s.id for s in found]
    wanted = st.query_params.get("sweep")
    chosen = st.selectbox(_("Sweep"), ids, index=ids.index(wanted) if wanted in ids else 0,
                          key="sweep_choice")
    st.query_params["sweep"] = chosen
    current = sweeps.get_sweep(runs_dir(), chosen)

    @fragment(run_every=REFRESH_S if current.state == "running" else None)
    def live() -> None:
        keep_job_counts_current()
        now = sweeps.get_sweep(runs_dir(), chosen)
        show_sweep(now)
        if now.state != current.state:
            st.rerun()  # finished or stopped: the whole page, without the polling

    live()
