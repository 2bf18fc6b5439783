"""The Train page's "Start from" choice (resnet_core.transfer) and its learning-rate finder
(resnet_core.lr_find). Widgets only; the rules are in the core."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from resnet_core import WorkbenchError
from resnet_core.analysis.charts import lr_find_curve
from resnet_core.training.transfer import (
    BACKBONE_LR_FACTOR,
    IMAGENET_FILES,
    imagenet_status,
)

from pages.common import plain, session, unlinked

START = ("scratch", "ImageNet weights", "an earlier run", "an uploaded .pth")
TRAIN = ("everything", "the head only", "the head first, then everything")


@dataclass
class Start:
    fields: dict = field(default_factory=dict)  # TrainConfig fields
    problem: str | None = None  # why Train cannot start yet


def picker(arch: str, runs: list) -> Start:
    """The starting point and what trains; the TrainConfig fields they mean."""
    choice = st.radio("Start from", START, horizontal=True, key="start_from",
                      help="pretrained weights learn from a few images per class what scratch "
                           "needs thousands for")
    start = Start()
    if choice == "ImageNet weights":
        start.fields["pretrained"] = "imagenet"
        if arch in IMAGENET_FILES:
            status = imagenet_status(arch)
            if status.present:
                st.success(f"{status.path.name} ({status.size_bytes / 1e6:.1f} MB) is in "
                           f"{plain(str(status.path.parent))}.")
            else:
                st.warning(f"{status.path.name} is not in {plain(str(status.path.parent))}. Copy it "
                           f"there from a machine with internet, or let torchvision fetch it.")
                if st.toggle("Download it (needs a network)", key="download_weights"):
                    start.fields["download"] = True
                else:
                    start.problem = f"{status.path.name} is not in the cache"
    elif choice == "an earlier run":
        done = {r.id: r for r in runs if r.has_checkpoint("best")}
        if not done:
            start.problem = "no finished run has a best.pt to start from yet"
            st.info("No finished run yet: train one first, or start from scratch.")
        else:
            run_id = st.selectbox("Run", list(done), key="init_run")
            start.fields["init_from"] = str(done[run_id].dir)
    elif choice == "an uploaded .pth":
        upload = st.file_uploader("Weights (.pth or .pt holding a state_dict)", type=["pth", "pt"],
                                  key="init_upload")
        start.problem = "upload a weights file first"
        if upload is not None:
            try:
                path = session().upload_weights(upload.name, upload.getvalue())
                start.fields["init_from"] = str(path)
                start.problem = None
            except WorkbenchError as e:
                start.problem = str(e)
    if choice != "scratch":
        what = st.radio("Train", TRAIN, horizontal=True, key="train_what",
                        help=f"the head only: the backbone stays as loaded (fast; with augmentation "
                             f"off its features are computed once); the head first: fastai's "
                             f"fine_tune, then the backbone at {BACKBONE_LR_FACTOR:g} x the "
                             "learning rate")
        if what == TRAIN[1]:
            start.fields["freeze"] = "backbone"
        elif what == TRAIN[2]:
            start.fields["freeze_epochs"] = int(st.number_input("Head-only epochs", 1, 1000, 1,
                                                                key="freeze_epochs"))
    return start


def suggest_pretrained() -> None:
    """After a folder or upload: pretrained resnet18 is the suggested start where its file is."""
    if not imagenet_status("resnet18").present:
        return
    if st.session_state.get("arch") == "resnet18" and st.session_state.get("start_from") == START[1]:
        return
    st.info("Few images per class? Start from resnet18's ImageNet weights (in the cache) and "
            "train only the head: seconds on a CPU.")
    st.button("Use pretrained resnet18", key="use_pretrained", on_click=_use_pretrained)


def _use_pretrained() -> None:
    # The frozen fast path (no augmentation: features once), ImageNet's size, a batch that a
    # few dozen images fill.
    st.session_state.update({"arch": "resnet18", "start_from": START[1], "train_what": TRAIN[1],
                             "augment": False, "image_size": 224, "batch_size": 16})


def apply_found_lr(lr_key: str) -> None:
    """Before the learning-rate field is drawn: fill in what the finder suggested."""
    found = st.session_state.pop("lr_pending", None)
    if found is not None:
        st.session_state[lr_key] = found


def lr_finder(config, lr_key: str, ready: bool) -> None:
    """"Find a learning rate": the range test in a child process, its chart, the field filled."""
    if st.button("Find a learning rate", key="find_lr", disabled=not ready,
                 help="Smith's range test (fastai's lr_find): 200 steps with the learning rate "
                      "growing from 1e-7 to 10; no run is created, no weights are kept"):
        with st.spinner("Sweeping the learning rate..."):
            outcome = _sweep(config)
        if isinstance(outcome, str):
            st.error(unlinked(outcome))
        else:
            st.session_state["lr_found"] = outcome
            st.session_state["lr_pending"] = outcome["suggestion"]
            st.rerun()
    found = st.session_state.get("lr_found")
    if found:
        st.plotly_chart(lr_find_curve(pd.DataFrame(found["sweep"]), found["suggestion"]),
                        key="lr_find_chart")
        st.caption(f"Suggested learning rate **{found['suggestion']:.3g}** (fastai's valley "
                   "rule: two thirds down the longest fall of the loss); it is in the field above.")


def _sweep(config) -> dict | str:
    import json

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.json").write_text(json.dumps(config.to_dict()))
        out = Path(tmp) / "lr.png"
        try:
            done = subprocess.run([sys.executable, "-m", "resnet_core.training.lr_find",
                                   str(Path(tmp) / "config.json"), str(out)],
                                  capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            return "the learning-rate sweep took over 10 minutes; try a smaller model or image size"
        if done.returncode != 0:
            lines = (done.stderr or "").strip().splitlines()
            return lines[-1].removeprefix("error: ") if lines else "the sweep failed"
        sweep = pd.read_csv(out.with_suffix(".csv"))
    return {"sweep": sweep.to_dict("list"), "suggestion": float(done.stdout.strip().splitlines()[-1])}
