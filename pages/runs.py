"""Runs: every run in the runs folder (and those imported from TensorBoard or MLflow); filter,
compare curves and configs, resume, delete, download; open them in TensorBoard, export them
to MLflow."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from resnet_core import WorkbenchError, analysis, i18n, runs
from resnet_core.i18n import N_, _, ngettext

from pages.common import (
    CLASS,
    bench,
    chart,
    current_user,
    fresh,
    may_control,
    plain,
    run_table,
    runs_dir,
    session,
    state_name,
    store,
    table_columns,
    translated_states,
    unlinked,
)
from pages.language import keyed


def report_maker(acting, run_id: str, language: str):
    """The report's bytes, made when the button is clicked (Streamlit calls it on a thread of
    its own, outside this script run: it gets the session and the language it needs)."""
    def make() -> bytes:
        with i18n.speaking(language):
            return acting.report(run_id).encode("utf-8")
    return make


st.title(_("Runs"))
if "runs_notice" in st.session_state:
    st.toast(_(st.session_state.pop("runs_notice")))
if CLASS:
    st.caption(_("Every run of the class: open any on Evaluate, Explain or Predict; resume or "
                 "delete your own."))
else:
    st.caption(_("Every run under `{path}`, including those started from the CLI or a notebook.").format(
        path=runs_dir()))
table = run_table(with_owner=CLASS)  # on a class server, who queued each run
if table.empty:
    st.info(_("No runs yet. Start one on **Train**."))
    st.stop()

f1, f2, f3 = st.columns(3)
states = f1.multiselect(_("State"), sorted(table["state"].dropna().unique()), key=keyed("f_state"), placeholder=_("Choose options"),
                        format_func=state_name)
datasets = f2.multiselect(_("Dataset"), sorted(table["dataset"].dropna().unique()), key="f_dataset", placeholder=_("Choose options"))
archs = f3.multiselect(_("Architecture"), sorted(table["arch"].dropna().unique()), key="f_arch", placeholder=_("Choose options"))
shown = table
for column, chosen in (("state", states), ("dataset", datasets), ("arch", archs)):
    if chosen:
        shown = shown[shown[column].isin(chosen)]
shown = shown.reset_index(drop=True)

st.caption(_("Click column headers to sort; tick rows to compare them."))
event = st.dataframe(
    translated_states(shown), hide_index=True, on_select="rerun", selection_mode="multi-row", key="runs_table",
    column_config=table_columns(shown, best_val_accuracy=st.column_config.NumberColumn(format="%.4f"),
                                test_accuracy=st.column_config.NumberColumn(format="%.4f")),
)
selected = [shown.loc[i, "run_id"] for i in event.selection.rows] if event else []
if "imported" in set(table["state"]):
    st.caption(_("Runs marked **imported** came from TensorBoard or MLflow (`python -m resnet_core "
                 "import-runs`): their curves, read-only, to compare with the workbench's own."))

teacher = not CLASS or current_user().is_teacher
if teacher:  # a process on the server, and every run's files: the teacher's
    tensorboard = bench().tensorboard
    with st.expander(_("Open in TensorBoard"), expanded=tensorboard.running):
        st.write(_("Runs trained with **TensorBoard event files** on (a toggle on Train, "
                   "`--tensorboard` on the command line) show in TensorBoard, also while they train; "
                   "starting it here also writes event files from the metrics of finished runs "
                   "that have none. On this machine:"))
        st.code(tensorboard.command, language=None)
        if tensorboard.running:
            st.link_button(_("Open TensorBoard"), tensorboard.url)
        elif st.button(_("Start TensorBoard here"), key="start_tensorboard",
                       help=_("on a free local port (127.0.0.1), stopped when the app stops")):
            try:
                with st.spinner(_("Starting TensorBoard...")):
                    session().start_tensorboard()
                st.rerun()  # the page again, with the link in place of the button
            except WorkbenchError as e:
                st.error(unlinked(e))

if not selected:
    st.info(_("Select one or more runs above to compare, resume, delete or download them."))
    st.stop()

chosen = {run_id: store().get(run_id) for run_id in selected}

st.header(_("Curves"))
c1, c2 = st.columns(2)
SPLITS = {"val": N_("validation"), "train": N_("training")}
METRICS = {"accuracy": N_("accuracy"), "loss": N_("loss")}
split = c1.radio(_("Split"), list(SPLITS), horizontal=True, key=keyed("cmp_split"), format_func=lambda k: _(SPLITS[k]))
metric = c2.radio(_("Metric"), list(METRICS), horizontal=True, key=keyed("cmp_metric"), format_func=lambda k: _(METRICS[k]))
curves = {rid: r.metrics() for rid, r in chosen.items()}
if any(not analysis.curve_rows(m, split, metric).empty for m in curves.values()):
    chart(analysis.compare_curves(curves, metric, split),
          analysis.describe_compare_curves(curves, metric, split),
          pd.concat([analysis.curves_table(m).assign(run=rid) for rid, m in curves.items()]),
          key="compare_chart")
else:  # an empty chart with made-up axes said nothing
    st.info(_("No {split} metrics yet for the selected runs: they appear as training logs them.").format(
        split=_(SPLITS[split])))

st.header(_("Configurations"))
# Keyed by whether there is a comparison: ticking a second run makes a new toggle, on (one
# keyed for a single run stayed off when the second was ticked after the first).
only_diff = st.toggle(_("Only differences"), value=len(chosen) > 1, key=f"only_diff_{len(chosen) > 1}")
st.dataframe(runs.config_table({rid: r.config for rid, r in chosen.items()}, only_diff), key="config_diff")

st.header(_("Actions"))
for run_id, run in chosen.items():
    state = run.state
    a1, a2, a3, a5, a4 = st.columns([3, 1, 1, 1, 1])
    if run.is_imported:
        where = run.status["imported_from"]
        a1.write(_("`{run}` · imported from {kind} ({source}), read-only").format(
            run=run_id, kind=where["kind"], source=where["source"]))
    elif run.job.held_by is not None:
        why = run.status.get("error") or _("the teacher stopped it")
        a1.write(_("`{run}` · {state} by the teacher: only the teacher can let it go on. {why}.").format(
            run=run_id, state=state_name(state), why=plain(why[:1].upper() + why[1:])))
    else:
        a1.write(f"`{run_id}` · {state_name(state)}")
    mine = may_control(run)
    if run.is_resumable and mine and session().may_resume(run_id):
        if a2.button(_("Resume"), key=f"resume_{run_id}"):
            try:
                session().resume(run_id)
                fresh()
                if not CLASS or current_user().is_teacher:  # students have no Train page
                    st.session_state["train_run_id"] = run_id
                    st.switch_page("train.py")
                # A toast right before a rerun is lost: the next run of the page shows it.
                st.session_state["runs_notice"] = N_("Resumed: it continues from its last "
                                                     "checkpoint when the device is free.")
                st.rerun()
            except WorkbenchError as e:
                st.error(unlinked(e))
    a3.download_button(_("Metrics CSV"), run.metrics().to_csv(index=False), f"{run_id}-metrics.csv",
                       "text/csv", key=f"csv_{run_id}")
    if not run.is_imported:
        # Made on the click, on a thread of its own: the language and the session go with it.
        a5.download_button(_("Report (HTML)"), report_maker(session(), run_id, i18n.language()),
                           f"{run_id}-report.html", "text/html", key=f"report_{run_id}", on_click="ignore",
                           help=_("one file that opens offline: settings, curves, confusion matrix, "
                                  "per-class scores, attribution maps, the environment"))
    if not mine:
        continue
    with a4.popover(_("Delete")):
        st.write(_("Delete `{run}` and its checkpoints? This cannot be undone.").format(run=run_id))
        if st.button(_("Delete for good"), key=f"delete_{run_id}", type="primary"):
            try:
                session().delete(run_id)
                fresh()
                st.rerun()
            except WorkbenchError as e:
                st.error(unlinked(e))

if teacher:
    st.header(_("Export to MLflow"))
    native = [run_id for run_id, run in chosen.items() if not run.is_imported]
    st.caption(_("Params, every metric at its step, tags (dataset, arch, owner, state) and the run's "
                 "files; a completed run's best checkpoint is registered as a model version with its "
                 "preprocessing contract (alias `champion`: the best test accuracy). Exporting again "
                 "adds only what is new."))
    uri = st.text_input(_("MLflow tracking URI"), bench().mlflow_tracking_uri, key="mlflow_uri")
    if st.button(ngettext("Export {n} run to MLflow", "Export {n} runs to MLflow", len(native)).format(n=len(native)),
                 key="export_mlflow", disabled=not native):
        try:
            with st.spinner(_("Exporting to MLflow...")):
                report = session().export_to_mlflow(native, tracking_uri=uri)
            st.session_state["mlflow_report"] = report.lines() + [_("See them: {command}").format(
                command=report.ui_command)]
        except WorkbenchError as e:
            st.error(unlinked(e))
    if "mlflow_report" in st.session_state:
        st.success(_("Exported to MLflow"))
        st.code("\n".join(st.session_state["mlflow_report"]), language=None)
