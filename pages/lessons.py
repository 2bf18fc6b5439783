"""Lessons: one click launches a lesson's paired runs; students predict, then the curves reveal.

A teacher's link ``?lesson=<id>&locked=1`` opens one lesson with the navigation and the
lesson picker hidden (pages/navigation.py hides the sidebar). Lesson content lives in resnet_core.lessons.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from resnet_core import WorkbenchError, analysis, classroom, data, training
from resnet_core.i18n import _, ngettext

from pages.announce import announce
from pages.common import (
    REFRESH_S,
    acting_user,
    block_drawing,
    block_names,
    chart,
    class_predictions,
    data_dir,
    dataset_for_run,
    fresh,
    inside_data_dir,
    is_student,
    keep_job_counts_current,
    lesson_runs_now,
    locked_lesson,
    plain,
    predictor,
    session,
    state_name,
    store,
    unlinked,
)
from pages.language import fragment, keyed

locked_id = locked_lesson()
st.title(_("Lessons"))  # the page's one h1, locked or not; the lesson's title is its h2
if locked_id:
    lesson_id = locked_id
else:
    ids = list(classroom.LESSONS)
    wanted = st.query_params.get("lesson") or ""
    base = wanted.removesuffix(classroom.REAL_DATA_SUFFIX)
    lesson_id = st.selectbox(_("Lesson"), ids, index=ids.index(base) if base in ids else 0,
                             format_func=lambda i: _(classroom.LESSONS[i].title), key=keyed("lesson_pick"))
    real = classroom.LESSONS[lesson_id].real_data
    if real is not None and classroom.fashion_mnist_here():
        if st.toggle(_("On real data: Fashion-MNIST ({budget})").format(budget=_(real.budget)),
                     key=f"real_{lesson_id}",
                     value=wanted == lesson_id + classroom.REAL_DATA_SUFFIX,
                     help=_("the same runs on 54,000 real 28x28 photos instead of 1,437 8x8 "
                            "digits, with the budget stated; their own runs and measured answer")):
            lesson_id += classroom.REAL_DATA_SUFFIX
    st.query_params["lesson"] = lesson_id
lesson = classroom.lesson_for(lesson_id)

st.header(lesson.heading())
st.markdown(_(lesson.summary))
if lesson.corrections:  # the article and the paper disagree: say where, and what the runs show
    st.subheader(_("Where the article and the paper disagree"))
    st.table(pd.DataFrame([{_("The article says"): _(said), _("He et al. (2015) and d2l"): _(paper),
                            _("What the runs here show"): _(here)} for said, paper, here in lesson.corrections]),
             hide_index=True)

# ------------------------------------------------------------------ the runs (locked settings)
overrides: dict = {}  # what this viewer's lesson runs change (the data only)
configs = lesson.configs()
data_root = str(data_dir())
if classroom.brings_data(lesson):  # a lesson that writes its own image folders: in the data folder
    overrides = {"data_root": str(Path(data_root).resolve())}
    configs = lesson.configs(**overrides)
if lesson.id == "article":
    if not locked_id:
        data_root = st.text_input(_("MNIST data root"), data_root, key="mnist_root",
                                  help=_("the folder holding MNIST/raw/ (torchvision's layout)"))
    try:
        data_root = str(inside_data_dir(data_root))
    except WorkbenchError as e:
        st.error(unlinked(e))
        data_root = str(data_dir())
    overrides, why = classroom.article_data(data_root)
    configs = lesson.configs(**overrides)
    if why:
        st.info(unlinked(why))

settings = pd.DataFrame([{_("run"): label, _("dataset"): c.dataset, _("architecture"): c.arch,
                          _("shortcuts"): c.residual, _("activation"): c.activation, _("normalization"): c.norm,
                          _("optimizer"): c.optimizer, _("learning rate"): c.lr,
                          _("budget"): (ngettext("{n} epoch", "{n} epochs", c.epochs).format(n=c.epochs) if c.epochs
                                        else ngettext("{n} step", "{n} steps", c.max_steps).format(n=c.max_steps)),
                          _("seed"): c.seed}
                         for label, c in zip(lesson.labels, configs, strict=True)])
with st.expander(_("Settings (locked for this lesson)")):
    st.dataframe(settings, hide_index=True)

found = lesson_runs_now(lesson.id)
progress_now = classroom.lesson_progress(lesson, found)
student = is_student()
# Students share the lesson's runs: once every run exists there is nothing for them to start.
complete = all(label in found for label in lesson.labels)
left, right = st.columns([1, 3])
if left.button(_("Run this lesson"), type="primary", key="run_lesson",
               disabled=progress_now.live or (student and complete),
               help=_("queues the lesson's runs once; everyone watching the lesson sees the same runs")):
    try:
        acting_user()  # stops the page for someone who has not joined
        queued = session().queue_lesson(lesson, **overrides)
        fresh()
        st.toast(ngettext("Queued {n} run.", "Queued {n} runs.", len(queued)).format(n=len(queued)) if queued
                 else _("The lesson's runs are already there."))
        found = classroom.lesson_runs(store(), lesson)
    except WorkbenchError as e:
        st.error(unlinked(e))
if not locked_id and not student:
    base = (st.context.url or "").split("?")[0]
    right.caption(_("Share this lesson, locked (other controls hidden):"))
    right.code(f"{base}?lesson={lesson.id}&locked=1", language=None)

# ------------------------------------------------------------------ predict, then reveal
guess_key = f"guess_{lesson.id}"
st.subheader(_("Predict"))
st.markdown(f"**{_(lesson.question)}**")
if guess_key not in st.session_state:
    with st.form(f"predict_{lesson.id}"):
        # By position: the answers are the reader's language, the tally counts positions.
        choice = st.radio(_("Your prediction"), range(len(lesson.choices)), index=None, key=keyed(f"choice_{lesson.id}"),
                          format_func=lambda i: _(lesson.choices[i]))
        if st.form_submit_button(_("Lock in my prediction")):
            if choice is None:
                st.warning(_("Pick one answer first."))
            else:
                try:  # in a class, the prediction counts in the teacher's tally
                    session().vote(lesson, choice)
                    st.session_state[guess_key] = choice
                    st.rerun()
                except WorkbenchError as e:
                    st.error(unlinked(e))
    st.caption(_("The curves appear once you have committed to a prediction."))
class_predictions(lesson)


def reveal() -> None:
    keep_job_counts_current()
    lesson_found = lesson_runs_now(lesson.id)
    if not lesson_found:
        st.info(_("No runs of this lesson yet: press **Run this lesson**."))
        return
    # When the last run ends, rerun the whole page once: the answer shows and polling stops.
    progress = classroom.lesson_progress(lesson, lesson_found)
    if st.session_state.get("lesson_live") and not progress.live:
        st.session_state["lesson_live"] = False
        st.rerun(scope="app")
    st.session_state["lesson_live"] = progress.live
    done = sum(row["state"] == "completed" for row in progress.rows)
    announce(analysis.announce_progress(_("Lesson runs"), done, len(lesson.labels))
             + (" " + _("The answer is below.") if progress.done else ""), key="lesson_status")
    # A plain table (a few rows): read by a screen reader as a table, passed over by Tab;
    # st.dataframe's grid takes every cell as a Tab stop and draws its focus on a canvas.
    rows = pd.DataFrame(progress.rows)
    if "state" in rows.columns:
        rows = rows.assign(state=[state_name(s) for s in rows["state"]])
    st.table(rows.rename(columns=lambda c: _(c)), hide_index=True, alt=_("The lesson's runs: state and steps"))
    metrics = {label: run.metrics() for label, run in lesson_found.items()}
    if lesson.chart == "grad_profile":
        diags = {label: training.read_diagnostics(run.dir) for label, run in lesson_found.items()}
        st.markdown(_("**Gradient norm of each block at the first step** (log scale)"))
        chart(analysis.gradient_norm_profile(diags), analysis.describe_gradient_profile(diags),
              _first_step_table(diags), key="grad_profile")
        st.markdown(_("**Training loss**"))
        chart(analysis.lesson_curves(metrics, "loss"),
              analysis.describe_compare_curves(metrics, "loss", "train"), _curves_table(metrics),
              key="lesson_loss")
    elif lesson.chart == "transfer":
        rows = classroom.transfer_rows(lesson_found)
        if rows:
            chart(analysis.transfer_curve(pd.DataFrame(rows)),
                  analysis.describe_transfer(pd.DataFrame(rows)), key="transfer_curve")
            st.table(pd.DataFrame(rows).pivot(index="k", columns="start", values="test accuracy"))
        chart(analysis.lesson_curves(metrics, "loss"),
              analysis.describe_compare_curves(metrics, "loss", "train"), _curves_table(metrics),
              key="lesson_loss")
    elif lesson.chart == "metrics_table":
        keys = training.HEADLINE_METRICS
        rows = [{_("run"): label, _("dataset"): run.config.get("dataset"),
                 **{_(name): run.summary("test").get(k) for k, name in keys.items()}}
                for label, run in lesson_found.items()]
        st.dataframe(pd.DataFrame(rows), hide_index=True,
                     column_config={_(n): st.column_config.NumberColumn(format="%.4f")
                                    for n in keys.values()})
        chart(analysis.lesson_curves(metrics, "loss"),
              analysis.describe_compare_curves(metrics, "loss", "train"), _curves_table(metrics),
              key="lesson_loss")
    else:
        metric = "error" if lesson.chart == "train_error" else "loss"
        chart(analysis.lesson_curves(metrics, metric, log_y=metric == "loss"),
              analysis.describe_compare_curves(metrics, metric, "train"), _curves_table(metrics),
              key="lesson_curves")
        if lesson.id == "depth":
            st.dataframe(pd.DataFrame(classroom.depth_rows(lesson_found)), hide_index=True)


def _first_step_table(diags: dict) -> pd.DataFrame:
    """The gradient profile's numbers: each run's gradient norm per block at its first step."""
    return pd.concat([d[d["step"] == d["step"].min()][["block", "grad_norm"]].assign(run=label)
                      for label, d in diags.items() if len(d)], ignore_index=True)


def _curves_table(metrics: dict) -> pd.DataFrame:
    """A lesson chart's numbers: every run's training and validation points."""
    return pd.concat([analysis.curves_table(m).assign(run=label) for label, m in metrics.items()],
                     ignore_index=True)


if guess_key in st.session_state:
    picked = st.session_state[guess_key]
    st.markdown(_("Your prediction: **{answer}**").format(answer=_(lesson.choices[picked])))
    st.subheader(_("Reveal"))
    runs_now = lesson_runs_now(lesson.id)
    progress_now = classroom.lesson_progress(lesson, runs_now)
    if progress_now.live:
        fragment(run_every=REFRESH_S)(reveal)()
    else:
        reveal()
    for label, status in progress_now.broken.items():
        st.warning(_("Run '{label}' is {state}: {why}. The answer appears when every run of the lesson has "
                     "completed.").format(label=label, state=state_name(status.get("state")),
                                          why=plain(status.get("error") or _("resume it on Runs"))))
    if progress_now.done:
        answer = classroom.lesson_answer(lesson, runs_now)
        if picked == answer:
            st.success(_("You predicted it: **{answer}**.").format(answer=_(lesson.choices[answer])))
        else:
            st.warning(_("The runs say: **{answer}**.").format(answer=_(lesson.choices[answer])))
        st.markdown(_(lesson.explanation))
    else:
        st.caption(_("The answer and the explanation appear when every run has completed."))
    if st.button(_("Predict again"), key="forget_guess"):
        del st.session_state[guess_key]
        st.rerun()

# ------------------------------------------------------------------ inside the network
st.divider()
st.subheader(_("Inside the network"))
tab_block, tab_maps, tab_diag = st.tabs([_("The block"), _("Feature maps"), _("Diagnostics")])
with tab_block:
    arch_label = st.selectbox(_("Run"), lesson.labels, key="block_run")
    c = configs[lesson.labels.index(arch_label)]
    channels, size = c.input_shape()
    names = block_names(c.arch, channels, size)
    block = st.select_slider(_("Block"), names, value=names[len(names) // 3 if len(names) > 3 else 0],
                             key=f"block_{c.arch}")
    st.graphviz_chart(block_drawing(c.arch, channels, size, block, activation=c.activation,
                                    residual=c.residual, norm=c.norm))
    st.caption((_("{arch}: block {block} with the shapes of a {shape} input (channels x height x width). "
                  "Dashed: the shortcut.") if c.residual else
                _("{arch} (plain): block {block} with the shapes of a {shape} input (channels x height x "
                  "width).")).format(arch=c.arch, block=block, shape=f"{channels}x{size}x{size}"))
with tab_maps:
    done_runs = {label: run for label, run in found.items()
                 if run.checkpoint_path("best").exists()}
    if not done_runs:
        st.info(_("Feature maps need a trained run of this lesson."))
    else:
        label = st.selectbox(_("Run"), list(done_runs), key="maps_run")
        run = done_runs[label]
        ds = dataset_for_run(run.config)
        best = predictor(run.dir, "best")
        model = best.model
        strokes = st.session_state.get("drawing_strokes")
        if strokes and st.toggle(_("Use my drawing (from Predict)"), key="maps_drawing"):
            raw = data.drawing_to_image(strokes, best.info)[None]
            caption = _("your drawing, as the model sees it")
        else:
            if not strokes:
                st.caption(_("Draw a digit on the Predict page (Image: Draw) to see its maps here."))
            index = st.number_input(_("Test image"), 0, len(ds.test) - 1, 0, key="maps_index")
            raw = ds.images("test", [int(index)])
            caption = _("true: {name}").format(name=ds.info.class_names[int(ds.test.labels[int(index)])])
        x = best.info.normalize(raw).to(next(model.parameters()).device)
        c1, c2 = st.columns([1, 5])
        c1.image(analysis.to_pil(raw[0], 96), caption=caption, alt=_("the test image: {caption}").format(caption=caption))
        maps = {k: v.numpy() for k, v in training.feature_maps(model, x).items()}
        chart(analysis.feature_map_grid(maps), analysis.describe_feature_maps(maps), key="feature_maps",
              where=c2)
        c2.caption(_("Each row is a stage; the first 8 channels. Early stages keep the image's "
                     "layout; later ones are smaller and more abstract."))
with tab_diag:
    diag_runs = {label: run for label, run in found.items()
                 if run.has_diagnostics}
    if not diag_runs:
        st.info(_("This lesson's runs log no diagnostics (the activations lesson does). From the "
                  "CLI: `train --diagnostics-every 10`."))
    else:
        label = st.selectbox(_("Run"), list(diag_runs), key="diag_run")
        diag = training.read_diagnostics(diag_runs[label].dir)
        for column, key in (("grad_norm", "diag_grad"), ("branch_ratio", "diag_ratio")):
            chart(analysis.diagnostics_over_time(diag, column), analysis.describe_diagnostics(diag, column),
                  diag[["step", "block", column]].dropna(), key=key)
        st.caption(_("||F(x)|| / ||shortcut(x)||: how much each block changes its input "
                     "(He et al. found residual responses small: blocks stay near the identity)."))
