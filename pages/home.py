"""Home: what the workbench is, the device in use, the latest runs."""

from __future__ import annotations

import streamlit as st
import torch

from resnet_core import RunStore
from resnet_core.runs import default_runs_dir

st.title("ResNet Workbench")
st.write(
    "Train, compare and understand residual networks (He et al., 2015). "
    "Everything here also works from the command line and from Jupyter: "
    "`python -m resnet_core train --dataset digits --arch resnet20`."
)

if torch.cuda.is_available():
    device = f"GPU: {torch.cuda.get_device_name(0)}"
else:
    device = f"CPU, {torch.get_num_threads()} threads (no CUDA GPU found)"
st.metric("Training device", device)

runs_dir = default_runs_dir()
st.subheader("Latest runs")
st.caption(f"Runs folder: `{runs_dir.resolve()}` (set RESNET_WORKBENCH_RUNS to change it)")
table = RunStore(runs_dir).table()
if table.empty:
    st.info(
        "No runs yet. Start one on the offline default dataset (scikit-learn's 8x8 digits, "
        "about 10 seconds on a laptop CPU):\n\n"
        "`python -m resnet_core train --dataset digits --arch resnet20`"
    )
else:
    st.dataframe(table.head(10), hide_index=True)
