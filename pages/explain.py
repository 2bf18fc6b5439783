"""Explain: Captum attribution maps for one image, Grad-CAM per stage, a sanity check, and a
probe set whose maps can be followed over the epochs of training."""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st
import torch

from resnet_core import WorkbenchError, analysis, data, training
from resnet_core.i18n import N_, _

from pages.common import (
    chart,
    choose_run_with_checkpoint,
    dataset_for_run,
    plain,
    predictor,
    unlinked,
)
from pages.language import keyed

st.title(_("Explain"))
st.caption(_("Which pixels made the network decide? Attribution maps computed with Captum."))
run = choose_run_with_checkpoint("explain_run")
model = predictor(run.dir, "best").model
info = predictor(run.dir, "best").info
names = info.class_names
black = analysis.black_pixel(info)
try:
    ds = dataset_for_run(run.config)
except WorkbenchError as e:
    st.error(unlinked(e))
    st.stop()

# ------------------------------------------------------------------ which image
c1, c2 = st.columns([1, 2])
SPLITS = {"test": N_("test"), "val": N_("validation")}
split = c1.radio(_("Split"), list(SPLITS), horizontal=True, key=keyed("explain_split"),
                 index=1 if st.query_params.get("split") == "val" else 0, format_func=lambda k: _(SPLITS[k]))
labels = ds.split(split).labels
modes = [N_("by index"), N_("by class"), N_("misclassified"), N_("upload")]
wanted_index = st.query_params.get("index")
mode = c2.radio(_("Image"), modes, horizontal=True, key=keyed("explain_mode"), format_func=_)
image, true_name = None, None
if mode == "by index":
    default = int(wanted_index) if wanted_index and wanted_index.isdigit() else 0
    index = st.number_input(_("Index (0..{last})").format(last=len(labels) - 1), 0, len(labels) - 1,
                            min(default, len(labels) - 1), key="explain_index")
elif mode == "by class":
    cls = st.selectbox(_("Class"), range(len(names)), format_func=lambda i: names[i], key="explain_cls")
    options = (labels == cls).nonzero().flatten().tolist()[:50]
    index = st.selectbox(_("Image"), options, format_func=lambda i: f"#{i}", key="explain_cls_idx")
elif mode == "misclassified":
    if not run.has_eval(split):
        st.info(_("No evaluation on {split} yet: open Evaluate first.").format(split=_(SPLITS[split])))
        st.stop()
    preds = run.predictions(split)
    wrong = training.misclassified(preds)
    if wrong.empty:
        st.success(_("Nothing is misclassified on this split."))
        st.stop()
    index = st.selectbox(_("Misclassified image"), wrong["index"].tolist(), key="explain_wrong",
                         format_func=lambda i: _("#{index}: true {true}, predicted {predicted}").format(
                             index=i, true=names[int(preds.y_true[i])], predicted=names[int(preds.y_pred[i])]))
else:
    upload = st.file_uploader(_("An image"), type=list(data.IMAGE_EXTENSIONS),
                              key="explain_upload")
    if upload is None:
        st.stop()
    try:
        image = data.decode_image(upload, info)
    except WorkbenchError as e:  # not an image, or too large to decode safely
        st.error(unlinked(e))
        st.stop()
if image is None:
    image = ds.images(split, [int(index)])[0]
    true_name = names[int(labels[int(index)])]

x = info.normalize(image[None])  # the model's input (the checks and feature maps take it)
probs = predictor(run.dir, "best").probabilities(image)
predicted = int(probs.argmax())
# The class to explain starts at this image's prediction: the widget is keyed by the image, so
# a new image starts from its own prediction, not the previous image's choice.
image_key = hashlib.sha1(image.numpy().tobytes()).hexdigest()[:12]

# ------------------------------------------------------------------ which methods
o1, o2 = st.columns([1, 2])  # the methods' pills need the width: in a quarter they hid Grad-CAM
o3, o4, _spare = st.columns([1, 1, 1])
target = o1.selectbox(_("Explain the class"), range(len(names)), index=predicted,
                      format_func=lambda i: f"{names[i]} ({probs[i]:.1%})",
                      key=f"explain_target_{run.id}_{image_key}",
                      help=_("why this class: the predicted one, or any other ('why 7, not 1?')"))


def method_title(method: str) -> str:
    return _(analysis.METHOD_TITLES[method])


methods = o2.multiselect(_("Methods"), analysis.METHODS, default=["saliency", "integrated_gradients", "gradcam"],
                         format_func=method_title, key=keyed("explain_methods"), placeholder=_("Choose options"))
stage = o3.selectbox(_("Grad-CAM stage"), model.stage_names, index=len(model.stage_names) - 1,
                     key="explain_stage")
baseline = o4.selectbox(_("Baseline (IG, DeepLift)"), analysis.BASELINES, key="explain_baseline")

st.write(_("**True:** {true} · **predicted:** {predicted} ({probability}) · **explaining:** {target}").format(
    true=plain(true_name) if true_name else _("unknown (uploaded)"), predicted=plain(names[predicted]),
    probability=f"{probs[predicted]:.1%}", target=plain(names[target])))


@st.cache_data(max_entries=256, show_spinner=False)  # the caller's spinner speaks the reader's language
def attribution(ckpt: str, mtime: float, image_bytes: bytes, shape: tuple, method: str, target: int,
                stage: str, baseline: str):
    """Cached per checkpoint file (and its mtime), image, method and options."""
    m = training.model_from_checkpoint(training.load_checkpoint(ckpt))[0]
    img = torch.frombuffer(bytearray(image_bytes), dtype=torch.uint8).view(shape)
    return analysis.explain(m, info.normalize(img[None]), method, target, stage=stage,
                   baseline=baseline, black=black)


def show(method: str, a, columns) -> None:
    title = method_title(method)
    columns[0].image(analysis.to_pil(analysis.heatmap_rgb(a.map, a.signed), 160),
                     caption=title, width=160,
                     alt=_("{method} attribution map: brighter where a pixel counted more for the class").format(
                         method=title))
    columns[1].image(analysis.to_pil(analysis.overlay_rgb(image, a), 160),
                     caption=_("overlay"), width=160,
                     alt=_("the {method} map laid over the input image").format(method=title))


ckpt = str(run.checkpoint("best"))
mtime = Path(ckpt).stat().st_mtime
key = image.contiguous().numpy().tobytes()
st.image(analysis.to_pil(image, 160), caption=_("input as the model sees it"), width=160,
         alt=_("the input image, as the model sees it"))
for method in methods:
    with st.spinner(_("Computing attributions...")):
        a = attribution(ckpt, mtime, key, tuple(image.shape), method, target, stage, baseline)
    cols = st.columns([1, 1, 2])
    show(method, a, cols)
    notes = analysis.attribution_notes(a.extra)
    cols[2].caption((_("red: evidence for the class, blue: against") if a.signed else
                     _("bright: where the output is most sensitive")) + ("; " + ", ".join(notes) if notes else ""))

with st.expander(_("Grad-CAM at every stage"), expanded=True):
    cols = st.columns(len(model.stage_names))
    for col, name in zip(cols, model.stage_names, strict=True):
        a = attribution(ckpt, mtime, key, tuple(image.shape), "gradcam", target, name, baseline)
        col.image(analysis.to_pil(analysis.overlay_rgb(image, a), 140),
                  caption=name, width=140, alt=_("Grad-CAM at {stage} laid over the input image").format(stage=name))
    st.caption(_("Early stages see edges at high resolution; the last stage sees whole parts, coarsely."))

with st.expander(_("Sanity check: trained against random weights (Adebayo et al. 2018)")):
    st.write(_("An explanation of the *model* must change when the model's weights are replaced by "
               "random ones. If the two maps look alike, the method is mostly redrawing the image."))
    check_method = st.selectbox(_("Method"), analysis.METHODS, format_func=method_title, key=keyed("check_method"))
    if st.button(_("Run the check"), key="run_check"):
        result = analysis.randomization_check(model, x, check_method, target, stage=stage, black=black)
        cols = st.columns(3)
        for col, which, words in zip(cols[:2], ("trained", "random"),
                                     (_("trained weights"), _("random weights")), strict=True):
            att = result[which]
            col.image(analysis.to_pil(analysis.heatmap_rgb(att.map, att.signed), 160),
                      caption=words, width=160,
                      alt=_("the attribution map with the {weights}").format(weights=words))
        cols[2].metric(_("Rank correlation"), f"{result['rank_correlation']:.2f}",
                       help=_("Spearman correlation of the absolute maps: near 0 = the method "
                              "depends on the weights (good); near 1 = it ignores them"))

with st.expander(_("Probe set: the maps over training")):
    snapshots = run.snapshot_epochs()
    if not snapshots:
        st.info(_("This run kept no weight snapshots (probe_snapshots was 0)."))
    else:
        epochs = list(snapshots)
        epoch = st.select_slider(_("Epoch"), epochs, value=epochs[-1], key="probe_epoch")
        probe_method = st.selectbox(_("Method"), analysis.METHODS, index=analysis.METHODS.index("gradcam"),
                                    format_func=method_title, key=keyed("probe_method"))
        path = snapshots[epoch]
        picks = analysis.probe_indices(ds.test.labels)
        cols = st.columns(len(picks))
        for col, i in zip(cols, picks, strict=True):
            img = ds.images("test", [i])[0]
            a = attribution(str(path), path.stat().st_mtime, img.contiguous().numpy().tobytes(),
                            tuple(img.shape), probe_method, int(ds.test.labels[i]), stage, baseline)
            col.image(analysis.to_pil(analysis.overlay_rgb(img, a), 120),
                      caption=_("{name} · epoch {epoch}").format(name=names[int(ds.test.labels[i])], epoch=epoch),
                      width=120, alt=_("the map of a {name} test image at epoch {epoch}").format(
                          name=names[int(ds.test.labels[i])], epoch=epoch))

with st.expander(_("Feature maps: what each stage computes for this image")):
    maps = {k: v.numpy() for k, v in training.feature_maps(model, x).items()}
    chart(analysis.feature_map_grid(maps), analysis.describe_feature_maps(maps), key="explain_feature_maps")
    st.caption(_("Rows: the stem and each stage; the first 8 channels of each. Early stages keep "
                 "the image's layout (edges, strokes); later ones are smaller and more abstract."))
