"""Evaluate: confusion matrix, per-class precision/recall/F1, misclassified images, drill-down."""

from __future__ import annotations

import numpy as np
import streamlit as st

from resnet_core import WorkbenchError, analysis, training

from pages.common import (
    chart,
    choose_run_with_checkpoint,
    dataset_for_run,
    plain,
    unlinked,
)

st.title("Evaluate")
run = choose_run_with_checkpoint("eval_run")
run_id = run.id
split = st.radio("Split", ["test", "val"], horizontal=True, key="eval_split")
if not run.has_eval(split):
    st.write(f"This run has no evaluation on the {split} split yet.")
    if st.button(f"Evaluate best.pt on {split}", key="run_eval"):
        with st.spinner("Evaluating..."):
            try:
                training.evaluate_run(run.dir, split=split)
            except WorkbenchError as e:
                st.error(unlinked(e))
                st.stop()
        st.rerun()
    st.stop()

summary = run.summary(split)
s1, s2, s3, s4, s5 = st.columns(5)
s1.metric("Accuracy", f"{summary['accuracy']:.4f}")
s2.metric("Macro precision", f"{summary['macro_precision']:.4f}")
s3.metric("Macro recall", f"{summary['macro_recall']:.4f}")
s4.metric("Macro F1", f"{summary['macro_f1']:.4f}")
s5.metric("Weighted F1", f"{summary['weighted_f1']:.4f}")
st.caption(f"{summary['num_samples']} images, checkpoint {summary.get('checkpoint', 'best')}.pt")

left, right = st.columns([3, 2])
with left:
    st.header("Confusion matrix")
    normalize = st.toggle("Row-normalised (recall per true class)", key="normalize")
    confusion = run.confusion(split)
    clicked = chart(analysis.confusion_heatmap(confusion, normalize),
                    analysis.describe_confusion(confusion) + " Click a cell for its images (Drill "
                    "down, below).", confusion.reset_index(names="true \\ predicted"),
                    key="confusion", on_select="rerun", selection_mode="points")
    # A clicked cell's images appear here, under the matrix: the Drill down section, where
    # they also go, is a screen or more below, and a click seemed to change nothing.
    clicked_cell = st.container()
with right:
    st.header("Per class")
    st.dataframe(run.per_class(split), hide_index=True, key="per_class",
                 column_config={c: st.column_config.NumberColumn(format="%.3f")
                                for c in ("precision", "recall", "f1")})

predictions = run.predictions(split)
config = run.config
names = config.get("class_names") or [str(c) for c in confusion.columns]
try:
    ds = dataset_for_run(config)
except WorkbenchError as e:
    st.warning(f"Images unavailable: {plain(e)}")
    st.stop()


def gallery(rows, caption_for, empty: str) -> None:
    if rows.empty:
        st.write(empty)
        return
    indices = rows["index"].tolist()
    images = ds.images(split, indices)
    captions = [caption_for(r) for r in rows.to_dict("records")]
    st.image([analysis.to_pil(im, 96) for im in images], caption=captions, width=96,
             alt=[f"{split} image {c}" for c in captions])


st.header("Misclassified, most confident first")
wrong = training.misclassified(predictions)
st.caption(f"{len(wrong)} of {len(predictions)} images are misclassified; "
           "Explain opens one on the Explain page.")
if wrong.empty:
    st.write("None: every image is classified correctly.")
for start in range(0, min(len(wrong), 24), 8):
    rows = wrong.iloc[start:start + 8].to_dict("records")
    cols = st.columns(8)
    images = ds.images(split, [r["index"] for r in rows])
    for col, r, im in zip(cols, rows, images, strict=False):
        said = (f"#{r['index']} true {names[r['y_true']]} → {names[r['y_pred']]} "
                f"({r['confidence']:.2f})")
        col.image(analysis.to_pil(im, 96), width=96, caption=said,
                  alt=f"misclassified {split} image {said}")
        col.page_link("explain.py", label="Explain", icon=":material/visibility:",
                      query_params={"run": run_id, "split": split, "index": str(r["index"])})

st.header("Drill down")
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
            st.caption(f"The cell you clicked: {len(picked)} image(s) of class {plain(names[t])} "
                       f"predicted as {plain(names[p])}; more in Drill down, below.")
            gallery(picked.sort_values("confidence", ascending=False).head(12),
                    lambda r: f"#{r['index']} ({r['confidence']:.2f})", "No images in this cell.")
d1, d2 = st.columns(2)
true_class = d1.selectbox("True class", range(len(names)), format_func=lambda i: names[i],
                          index=int(worst_true), key="drill_true")
pred_class = d2.selectbox("Predicted class", range(len(names)), format_func=lambda i: names[i],
                          index=int(worst_pred), key="drill_pred")
cell = predictions[(predictions.y_true == true_class) & (predictions.y_pred == pred_class)]
st.caption(f"{len(cell)} image(s) of class {plain(names[true_class])} predicted as "
           f"{plain(names[pred_class])} (confusion matrix row {plain(names[true_class])}, "
           f"column {plain(names[pred_class])}).")
gallery(cell.sort_values("confidence", ascending=False).head(60),
        lambda r: f"#{r['index']} ({r['confidence']:.2f})", "No images in this cell.")
