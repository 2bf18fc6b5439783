"""Home: what the workbench is, the device in use, the latest runs, a one-click quick start."""

from __future__ import annotations

import streamlit as st
import torch

from resnet_core import TrainConfig, WorkbenchError
from resnet_core.i18n import _

from pages.common import (
    CLASS,
    executor_line,
    is_student,
    run_table,
    runs_dir,
    session,
    table_columns,
    translated_states,
    unlinked,
)

st.title("ResNet Workbench")
st.write(_(
    "Train, compare and understand residual networks (He et al., 2015). Pick a depth, a "
    "dataset and hyperparameters on **Train**, watch the curves move, compare runs on "
    "**Runs**, see where a model goes wrong on **Evaluate**, and try it on your own images "
    "on **Predict**; teachers find ready-made experiments on **Lessons**. Everything here also works from the command line "
    "(`python -m resnet_core train --dataset digits --arch resnet20`) and from Jupyter."
))

if torch.cuda.is_available():
    device = _("GPU: {name}").format(name=torch.cuda.get_device_name(0))
else:
    device = _("CPU, {threads} threads (no CUDA GPU found)").format(threads=torch.get_num_threads())
col_device, col_start = st.columns([2, 1])
col_device.metric(_("Training device"), device)
col_device.caption(_("Runs train on {executor}").format(executor=executor_line()))
if is_student():  # on a class server students train in the challenge and the lessons
    col_start.write(_("**In class**: open **Lessons** for today's experiment, or **Challenge** "
                      "to enter the class challenge."))
else:
    col_start.write(_("**Quick start**: ResNet-20 on the offline 8x8 digits, about 10 s on a CPU."))
    if col_start.button(_("Train ResNet-20 on digits"), type="primary", key="quick_start"):
        try:
            st.session_state["train_run_id"] = session().submit(
                TrainConfig(dataset="digits", arch="resnet20"))
            st.switch_page("train.py")
        except WorkbenchError as e:  # e.g. another server owns this runs folder
            col_start.error(unlinked(e))

st.header(_("Latest runs"))
if not CLASS:
    st.caption(_("Runs folder: `{path}` (set RESNET_WORKBENCH_RUNS to change it)").format(path=runs_dir()))
table = run_table()
if table.empty:
    st.info(_("No runs yet: press the quick start button, or open **Train**."))
else:
    st.dataframe(translated_states(table.head(10)), hide_index=True, column_config=table_columns(
        table, best_val_accuracy=st.column_config.NumberColumn(format="%.4f"),
        test_accuracy=st.column_config.NumberColumn(format="%.4f")))
