"""Evaluate: confusion matrix, per-class precision/recall/F1, misclassified images, drill-down."""

from __future__ import annotations

import numpy as np
import streamlit as st

from resnet_core import WorkbenchError, analysis, training
from resnet_core.i18n import N_, _, ngettext

from pages.common import (
    chart,
    choose_run_with_checkpoint,
    dataset_for_run,
    plain,
    unlinked,
)
from pages.language import keyed

st.title(_("Evaluate"))
run = choose_run_with_checkpoint("eval_run")
run_id = run.id
SPLITS = {"test": N_("test"), "val": N_("validation")}
split = st.radio(_("Split"), list(SPLITS), horizontal=True, key=keyed("eval_split"), format_func=lambda k: _(SPLITS[k]))
if not run.has_eval(split):
    st.write(_("This run has no evaluation on the {split} split yet.").format(split=_(SPLITS[split])))
    if st.button(_("Evaluate best.pt on {split}").format(split=_(SPLITS[split])), key="run_eval"):
        with st.spinner(_("Evaluating...")):
            try:
                training.evaluate_run(run.dir, split=split)
            except WorkbenchError as e:
                st.error(unlinked(e))
                st.stop()
        st.rerun()
    st.stop()

summary = run.summary(split)
s1, s2, s3, s4, s5 = st.columns(5)
s1.metric(_("Accuracy"), f"{summary['accuracy']:.4f}")
s2.metric(_("Macro precision"), f"{summary['macro_precision']:.4f}")
s3.metric(_("Macro recall"), f"{summary['macro_recall']:.4f}")
s4.metric(_("Macro F1"), f"{summary['macro_f1']:.4f}")
s5.metric(_("Weighted F1"), f"{summary['weighted_f1']:.4f}")
st.caption(ngettext("{n} image, checkpoint {checkpoint}.pt", "{n} images, checkpoint {checkpoint}.pt",
                    summary["num_samples"]).format(n=summary["num_samples"],
                                                   checkpoint=summary.get("checkpoint", "best"))
           + (_("; accuracy{note}").format(note=training.tta_note(summary)) if summary.get("tta") else ""))

left, right = st.columns([3, 2])
with left:
    st.header(_("Confusion matrix"))
    normalize = st.toggle(_("Row-normalised (recall per true class)"), key="normalize")
    confusion = run.confusion(split)
    clicked = chart(analysis.confusion_heatmap(confusion, normalize),
                    analysis.describe_confusion(confusion) + " " + _("Click a cell for its images (Drill "
                                                                     "down, below)."),
                    confusion.reset_index(names=_("true \\ predicted")),
                    key="confusion", on_select="rerun", selection_mode="points")
    # A clicked cell's images appear here, under the matrix: the Drill down section, where
    # they also go, is a screen or more below, and a click seemed to change nothing.
    clicked_cell = st.container()
with right:
    st.header(_("Per class"))
    PER_CLASS = {"class": N_("class"), "precision": N_("precision"), "recall": N_("recall"),
                 "f1": N_("F1"), "support": N_("support")}
    per_class = run.per_class(split)
    st.dataframe(per_class, hide_index=True, key="per_class", column_config={
        c: (st.column_config.NumberColumn(_(PER_CLASS[c]), format="%.3f") if c in ("precision", "recall", "f1")
            else st.column_config.Column(_(PER_CLASS.get(c, c)))) for c in per_class.columns})

predictions = run.predictions(split)
config = run.config
names = config.get("class_names") or [str(c) for c in confusion.columns]
try:
    ds = dataset_for_run(config)
except WorkbenchError as e:
    st.warning(_("Images unavailable: {error}").format(error=plain(e)))
    st.stop()


def gallery(rows, caption_for, empty: str) -> None:
    if rows.empty:
        st.write(empty)
        return
    indices = rows["index"].tolist()
    images = ds.images(split, indices)
    captions = [caption_for(r) for r in rows.to_dict("records")]
    st.image([analysis.to_pil(im, 96) for im in images], caption=captions, width=96,
             alt=[_("{split} image {caption}").format(split=_(SPLITS[split]), caption=c) for c in captions])


st.header(_("Misclassified, most confident first"))
wrong = training.misclassified(predictions)
st.caption(ngettext("{n} of {total} image is misclassified; Explain opens one on the Explain page.",
                    "{n} of {total} images are misclassified; Explain opens one on the Explain page.",
                    len(predictions)).format(n=len(wrong), total=len(predictions)))
if wrong.empty:
    st.write(_("None: every image is classified correctly."))
for start in range(0, min(len(wrong), 24), 8):
    rows = wrong.iloc[start:start + 8].to_dict("records")
    cols = st.columns(8)
    images = ds.images(split, [r["index"] for r in rows])
    for col, r, im in zip(cols, rows, images, strict=False):
        said = _("#{index} true {true} → {predicted} ({confidence})").format(
            index=r["index"], true=names[r["y_true"]], predicted=names[r["y_pred"]],
            confidence=f"{r['confidence']:.2f}")
        col.image(analysis.to_pil(im, 96), width=96, caption=said,
                  alt=_("misclassified {split} image {said}").format(split=_(SPLITS[split]), said=said))
        col.page_link("explain.py", label=_("Explain"), icon=":material/visibility:",
                      query_params={"run": run_id, "split": split, "index": str(r["index"])})

st.header(_("Drill down"))
# Start on the most frequent confusion (the largest off-diagonal cell).
off_diagonal = confusion.to_numpy().copy()
np.fill_diagonal(off_diagonal, -1)
worst_true, worst_pred = np.unravel_index(off_diagonal.argmax(), off_diagonal.shape)
# A click on a cell of the matrix chooses the cell (once per click: the boxes stay the user's).
points = clicked.selection.points if clicked else []
if points:
    cell_names = (str(points[0]["y"]), str(points[0]["x"]))
    if st.session_state.get("drill_clicked") != cell_names:
        st.session_state["drill_clicked"] = cell_names
        labels = [str(c) for c in confusion.columns]
        if cell_names[0] in labels and cell_names[1] in labels:
            st.session_state["drill_true"] = labels.index(cell_names[0])
            st.session_state["drill_pred"] = labels.index(cell_names[1])
if points and st.session_state.get("drill_clicked"):
    labels = [str(c) for c in confusion.columns]
    t_name, p_name = st.session_state["drill_clicked"]
    if t_name in labels and p_name in labels:
        t, p = labels.index(t_name), labels.index(p_name)
        picked = predictions[(predictions.y_true == t) & (predictions.y_pred == p)]
        with clicked_cell:
            st.caption(ngettext("The cell you clicked: {n} image of class {true} predicted as {predicted}; "
                                "more in Drill down, below.",
                                "The cell you clicked: {n} images of class {true} predicted as "
                                "{predicted}; more in Drill down, below.", len(picked)).format(
                n=len(picked), true=plain(names[t]), predicted=plain(names[p])))
            gallery(picked.sort_values("confidence", ascending=False).head(12),
                    lambda r: f"#{r['index']} ({r['confidence']:.2f})", _("No images in this cell."))
d1, d2 = st.columns(2)
true_class = d1.selectbox(_("True class"), range(len(names)), format_func=lambda i: names[i],
                          index=int(worst_true), key="drill_true")
pred_class = d2.selectbox(_("Predicted class"), range(len(names)), format_func=lambda i: names[i],
                          index=int(worst_pred), key="drill_pred")
cell = predictions[(predictions.y_true == true_class) & (predictions.y_pred == pred_class)]
st.caption(ngettext("{n} image of class {true} predicted as {predicted} (confusion matrix row {true}, "
                    "column {predicted}).",
                    "{n} images of class {true} predicted as {predicted} (confusion matrix row {true}, "
                    "column {predicted}).", len(cell)).format(
    n=len(cell), true=plain(names[true_class]), predicted=plain(names[pred_class])))
gallery(cell.sort_values("confidence", ascending=False).head(60),
        lambda r: f"#{r['index']} ({r['confidence']:.2f})", _("No images in this cell."))
