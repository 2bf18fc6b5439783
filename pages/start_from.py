"""The Train page's "Start from" choice (resnet_core.training.transfer) and its learning-rate
finder (a job: Session.find_lr). Widgets only; the rules are in the core."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from resnet_core import WorkbenchError, analysis, training
from resnet_core.i18n import N_, _, ngettext

from pages.common import (
    bench,
    chart,
    keep_job_counts_current,
    plain,
    session,
    unlinked,
)
from pages.language import fragment, keyed

# The choices' keys (widget values) are these English texts; the reader sees them translated.
START = (N_("scratch"), N_("ImageNet weights"), N_("an earlier run"), N_("an uploaded .pth"))
TRAIN = (N_("everything"), N_("the head only"), N_("the head first, then everything"))


@dataclass
class Start:
    fields: dict = field(default_factory=dict)  # TrainConfig fields
    problem: str | None = None  # why Train cannot start yet


def picker(arch: str, past_runs: list) -> Start:
    """The starting point and what trains; the TrainConfig fields they mean."""
    choice = st.radio(_("Start from"), START, horizontal=True, key=keyed("start_from"), format_func=_,
                      help=_("pretrained weights learn from a few images per class what scratch "
                             "needs thousands for"))
    start = Start()
    if choice == "ImageNet weights":
        start.fields["pretrained"] = "imagenet"
        if arch in training.IMAGENET_FILES:
            status = training.imagenet_status(arch)
            if status.present:
                st.success(_("{file} ({size} MB) is in {folder}.").format(
                    file=status.path.name, size=f"{status.size_bytes / 1e6:.1f}",
                    folder=plain(str(status.path.parent))))
            else:
                st.warning(_("{file} is not in {folder}. Copy it there from a machine with internet, "
                             "or let torchvision fetch it.").format(
                    file=status.path.name, folder=plain(str(status.path.parent))))
                if st.toggle(_("Download it (needs a network)"), key="download_weights"):
                    start.fields["download"] = True
                else:
                    start.problem = _("{file} is not in the cache").format(file=status.path.name)
    elif choice == "an earlier run":
        done = {r.id: r for r in past_runs if r.has_checkpoint("best")}
        if not done:
            start.problem = _("no finished run has a best.pt to start from yet")
            st.info(_("No finished run yet: train one first, or start from scratch."))
        else:
            run_id = st.selectbox(_("Run"), list(done), key="init_run")
            start.fields["init_from"] = str(done[run_id].dir)
    elif choice == "an uploaded .pth":
        upload = st.file_uploader(_("Weights (.pth or .pt holding a state_dict)"), type=["pth", "pt"],
                                  key="init_upload")
        start.problem = _("upload a weights file first")
        if upload is not None:
            try:
                path = session().upload_weights(upload.name, upload.getvalue())
                start.fields["init_from"] = str(path)
                start.problem = None
            except WorkbenchError as e:
                start.problem = str(e)
    if choice != "scratch":
        what = st.radio(_("Train"), TRAIN, horizontal=True, key=keyed("train_what"), format_func=_,
                        help=_("the head only: the backbone stays as loaded (fast; with augmentation "
                               "off its features are computed once); the head first: fastai's "
                               "fine_tune, then the backbone at {factor} x the learning rate").format(
                            factor=f"{training.BACKBONE_LR_FACTOR:g}"))
        if what == TRAIN[1]:
            start.fields["freeze"] = "backbone"
        elif what == TRAIN[2]:
            start.fields["freeze_epochs"] = int(st.number_input(_("Head-only epochs"), 1, 1000, 1,
                                                                key="freeze_epochs"))
    return start


def suggest_pretrained() -> None:
    """After a folder or upload: pretrained resnet18 is the suggested start where its file is."""
    if not training.imagenet_status(training.FEW_IMAGES_START["arch"]).present:
        return
    if (st.session_state.get("arch") == training.FEW_IMAGES_START["arch"]
            and st.session_state.get(keyed("start_from")) == START[1]):
        return
    st.info(_("Few images per class? Start from resnet18's ImageNet weights (in the cache) and "
              "train only the head: seconds on a CPU."))
    st.button(_("Use pretrained resnet18"), key="use_pretrained", on_click=_use_pretrained)


def _use_pretrained() -> None:
    """The form's widgets set to the core's few-images start (training.FEW_IMAGES_START)."""
    start = training.FEW_IMAGES_START
    st.session_state.update({
        "arch": start["arch"], "augment": start["augment"], "image_size": start["image_size"],
        "batch_size": start["batch_size"],
        keyed("start_from"): START[1] if start["pretrained"] == "imagenet" else START[0],
        keyed("train_what"): TRAIN[1] if start["freeze"] == "backbone" else TRAIN[0]})


def apply_found_lr(lr_key: str) -> None:
    """Before the learning-rate field is drawn: fill in what the finder suggested."""
    found = st.session_state.pop("lr_pending", None)
    if found is not None:
        st.session_state[lr_key] = found


def lr_finder(config, lr_key: str, ready: bool) -> None:
    """"Find a learning rate": the range test as a job in the queue, its progress while it
    runs, then its chart and the field filled."""
    if st.button(_("Find a learning rate"), key="find_lr", disabled=not ready,
                 help=_("Smith's range test (fastai's lr_find): 200 steps with the learning rate "
                        "growing from 1e-7 to 10; it waits its turn behind running jobs; no run "
                        "is created, no weights are kept")):
        try:
            st.session_state["lr_sweep"] = session().find_lr(config)
            st.session_state.pop("lr_found", None)
        except WorkbenchError as e:
            st.error(unlinked(e))
    if st.session_state.get("lr_sweep"):
        _sweep_progress()
    error = st.session_state.pop("lr_error", None)
    if error:
        st.error(unlinked(error))
    found = st.session_state.get("lr_found")
    if found:
        sweep = pd.DataFrame(found["sweep"])
        chart(analysis.lr_find_curve(sweep, found["suggestion"]),
              analysis.describe_lr_find(sweep, found["suggestion"]), sweep, key="lr_find_chart")
        st.caption(_("Suggested learning rate **{lr}** (fastai's valley rule: two thirds down the "
                     "longest fall of the loss); it is in the field above.").format(
            lr=f"{found['suggestion']:.3g}"))


@fragment(run_every=1.0)
def _sweep_progress() -> None:
    """The sweep's state, once a second, until it ends (then the whole page takes the result)."""
    keep_job_counts_current()
    sweep = st.session_state.get("lr_sweep")
    if not sweep:
        return
    status = bench().lr_find_status(sweep)
    state = status["state"]
    if state == "queued":
        ahead = status.get("jobs_ahead", 0)
        st.progress(0.0, text=ngettext("Learning-rate finder queued: {n} job ahead of it",
                                       "Learning-rate finder queued: {n} jobs ahead of it", ahead).format(n=ahead))
    elif state == "running":
        steps = status.get("steps") or 200
        st.progress(min(1.0, status["step"] / steps),
                    text=_("Finding the learning rate: step {step} of {steps}").format(
                        step=status["step"], steps=steps))
    else:
        del st.session_state["lr_sweep"]
        if state == "completed":
            st.session_state["lr_found"] = status
            st.session_state["lr_pending"] = status["suggestion"]
        else:
            st.session_state["lr_error"] = status.get("error") or _("the learning-rate finder ended {state}").format(state=state)
        st.rerun()
