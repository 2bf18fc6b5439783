"""Predict: classify an uploaded, camera, drawn or test image with a run's saved weights."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st
import torch

from resnet_core import WorkbenchError, analysis, data, serving
from resnet_core.i18n import N_, _

from pages.canvas import draw_canvas
from pages.common import (
    chart,
    choose_run_with_checkpoint,
    dataset_for_run,
    plain,
    predictor,
    unlinked,
)
from pages.language import fragment, keyed

st.title(_("Predict"))
run = choose_run_with_checkpoint("predict_run", "last")
CHECKPOINTS = {"best": N_("best"), "last": N_("last")}
checkpoint = st.radio(_("Weights"), list(CHECKPOINTS), horizontal=True, key=keyed("predict_ckpt"),
                      format_func=lambda k: _(CHECKPOINTS[k]),
                      help=_("a snapshot saved on disk; a run in progress keeps training undisturbed"))
if not run.has_checkpoint(checkpoint):
    st.warning(_("This run has no {checkpoint}.pt yet.").format(checkpoint=checkpoint))
    st.stop()
try:
    model = predictor(run.dir, checkpoint)
except WorkbenchError as e:
    st.error(unlinked(e))
    st.stop()
info = model.info


@st.cache_data(max_entries=4, ttl=600, show_spinner=False)
def exported(run_dir: str, checkpoint: str, fmt: str, mtime: float) -> tuple[bytes, bytes]:
    """(model file, contract JSON) bytes, made by the same export as the CLI's."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"model.{serving.SUFFIXES[fmt]}"
        serving.export_run(run_dir, fmt, out, checkpoint=checkpoint)
        return out.read_bytes(), Path(f"{out}.json").read_bytes()


with st.expander(_("Download the model (ONNX, pt2 or TorchScript, with its preprocessing contract)")):
    st.caption(_("ONNX, a torch.export program (pt2), or TorchScript (legacy). The JSON holds the "
                 "class names, input size, channels, mean/std and resize rule; the README shows "
                 "ten lines of onnxruntime that use it."))
    mtime = run.checkpoint(checkpoint).stat().st_mtime
    for fmt, suffix in serving.SUFFIXES.items():
        if st.button(_("Prepare {format}").format(format=fmt), key=f"prep_{fmt}"):
            st.session_state[f"export_{fmt}"] = True
        if st.session_state.get(f"export_{fmt}"):
            with st.spinner(_("Exporting...")):
                data, meta = exported(str(run.dir), checkpoint, fmt, mtime)
            d1, d2 = st.columns(2)
            d1.download_button(f"{run.id}.{suffix}", data, f"{run.id}.{suffix}", key=f"dl_{fmt}")
            d2.download_button(f"{run.id}.{suffix}.json", meta, f"{run.id}.{suffix}.json",
                               "application/json", key=f"dl_{fmt}_json")
st.caption(_("Expects {channels}-channel {size}x{size} images; classes: {names}").format(
    channels=info.channels, size=info.image_size, names=plain(", ".join(info.class_names))))

SOURCES = (N_("Upload"), N_("Camera"), N_("Draw"), N_("Pick a test image"))
# The canvas needs a pointer; what it says to a keyboard or screen-reader user (next to it,
# and as the canvas's own label, pages/canvas.py).
NO_POINTER = N_("No mouse, pen or touch screen, or using a screen reader?")
kind = st.radio(_("Image"), SOURCES, horizontal=True, key=keyed("predict_source"), format_func=_,
                help=_("Draw: as you draw, the drawing is prepared the way the training images were "
                       "(digits: fitted to 32x32 and counted in 4x4 blocks; MNIST: 20x20, centred "
                       "by its centre of mass; Fashion-MNIST: filling the 28x28 square) and "
                       "classified"))


def show(image, caption: str | None = None) -> None:
    """The model's view of a uint8 (C, H, W) image, its top classes and an attribution overlay."""
    top = model.predict_images(image[None], top_k=min(5, info.num_classes))[0]
    left, right = st.columns(2)
    with left:
        size = f"{info.image_size}x{info.image_size}"
        said = caption or (_("As the model sees it: {size} grayscale") if info.channels == 1
                           else _("As the model sees it: {size}")).format(size=size)
        st.image(analysis.to_pil(image, 224), width=224, caption=said,
                 alt=_("the image to classify. {caption}").format(caption=said))
        method = st.radio(_("Why"), ["saliency", "gradcam"], horizontal=True, key=keyed("predict_why"),
                          format_func=lambda m: _(analysis.METHOD_TITLES[m]))
        why = _("{method} for '{name}': where the evidence is").format(
            method=_(analysis.METHOD_TITLES[method]), name=top[0][0])
        st.image(overlay(image, method), width=224, caption=why,
                 alt=_("{what}, laid over the image").format(what=why))
    with right:
        m1, m2 = st.columns(2)
        m1.metric(_("Prediction"), top[0][0])
        m2.metric(_("Probability"), f"{top[0][1]:.1%}")
        chart(analysis.top_k_bars(top), analysis.describe_top_k(top),
              pd.DataFrame(top, columns=[_("class"), _("probability")]), key="topk")


def overlay(image, method: str):
    x = info.normalize(image[None])
    attribution = analysis.explain(model.model, x, method)
    return analysis.to_pil(analysis.overlay_rgb(image, attribution), 224)


if kind == "Draw":
    @fragment
    def draw_panel() -> None:
        """Only this part reruns while drawing (each stroke sends the canvas's state)."""
        st.caption(data.drawing_hint(info))
        strokes = draw_canvas("predict_canvas", data.CANVAS, data.pen_width(info))
        st.caption(_("{no_pointer} Choose **Pick a test image** above.").format(no_pointer=_(NO_POINTER)))
        st.session_state["drawing_strokes"] = strokes  # the Lessons page can use it too
        if not strokes:
            return
        show(data.drawing_to_image(strokes, info))

    draw_panel()
    st.stop()

if kind == "Pick a test image":
    ds = dataset_for_run(run.config)
    n = len(ds.test)
    c1, c2 = st.columns([3, 1])
    if c2.button(_("Random"), key="predict_random"):
        st.session_state["predict_index"] = int(torch.randint(n, (1,)))
    index = int(c1.number_input(_("Test image (0-{last})").format(last=n - 1), 0, n - 1, key="predict_index"))
    true = info.class_names[int(ds.test.labels[index])]
    show(ds.images("test", [index])[0], caption=_("Test image #{index}, true class: {name}").format(
        index=index, name=true))
    st.stop()

if kind == "Camera":
    source = st.camera_input(_("Take a picture"), key="camera")
else:
    source = st.file_uploader(_("An image"), type=list(data.IMAGE_EXTENSIONS), key="upload")
if source is None:
    st.stop()

try:
    seen = data.decode_image(source, info)
except WorkbenchError as e:
    st.error(unlinked(e))
    st.stop()
show(seen)
