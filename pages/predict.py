"""Predict: classify an uploaded or camera image with a run's saved weights."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from resnet_core import WorkbenchError
from resnet_core.charts import top_k_bars
from resnet_core.data import decode_image
from resnet_core.export import SUFFIXES, export_run

from pages.common import choose_run_with_checkpoint, plain, predictor, to_pil, unlinked

st.title("Predict")
run = choose_run_with_checkpoint("predict_run", "last")
checkpoint = st.radio("Weights", ["best", "last"], horizontal=True, key="predict_ckpt",
                      help="a snapshot saved on disk; a run in progress keeps training undisturbed")
if not run.has_checkpoint(checkpoint):
    st.warning(f"This run has no {checkpoint}.pt yet.")
    st.stop()
try:
    model = predictor(run.dir, checkpoint)
except WorkbenchError as e:
    st.error(unlinked(e))
    st.stop()
info = model.info


@st.cache_data(max_entries=4, ttl=600, show_spinner="Exporting...")
def exported(run_dir: str, checkpoint: str, fmt: str, mtime: float) -> tuple[bytes, bytes]:
    """(model file, contract JSON) bytes, made by the same export as the CLI's."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"model.{SUFFIXES[fmt]}"
        export_run(run_dir, fmt, out, checkpoint=checkpoint)
        return out.read_bytes(), Path(f"{out}.json").read_bytes()


with st.expander("Download the model (ONNX, pt2 or TorchScript, with its preprocessing contract)"):
    st.caption("ONNX, a torch.export program (pt2), or TorchScript (legacy). The JSON holds the "
               "class names, input size, channels, mean/std and resize rule; the README shows "
               "ten lines of onnxruntime that use it.")
    mtime = run.checkpoint(checkpoint).stat().st_mtime
    for fmt, suffix in SUFFIXES.items():
        if st.button(f"Prepare {fmt}", key=f"prep_{fmt}"):
            st.session_state[f"export_{fmt}"] = True
        if st.session_state.get(f"export_{fmt}"):
            data, meta = exported(str(run.dir), checkpoint, fmt, mtime)
            d1, d2 = st.columns(2)
            d1.download_button(f"{run.id}.{suffix}", data, f"{run.id}.{suffix}", key=f"dl_{fmt}")
            d2.download_button(f"{run.id}.{suffix}.json", meta, f"{run.id}.{suffix}.json",
                               "application/json", key=f"dl_{fmt}_json")
st.caption(f"Expects {info.channels}-channel {info.image_size}x{info.image_size} images; "
           f"classes: {plain(', '.join(info.class_names))}")

source = st.file_uploader("An image", type=["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"],
                          key="upload")
if source is None and st.toggle("Use the camera", key="use_camera"):
    source = st.camera_input("Take a picture", key="camera")
if source is None:
    st.stop()

try:
    (top,) = model.predict([source], top_k=min(5, info.num_classes))
except WorkbenchError as e:
    st.error(unlinked(e))
    st.stop()
source.seek(0)
seen = decode_image(source, info)

left, right = st.columns(2)
with left:
    st.image(to_pil(seen, 224), caption=f"As the model sees it: {info.image_size}x{info.image_size}"
             f"{' grayscale' if info.channels == 1 else ''}", width=224)
with right:
    st.metric("Prediction", top[0][0], f"{top[0][1]:.1%}")
    st.plotly_chart(top_k_bars(top), key="topk")
