"""Plotly figures from run data (metrics frames, confusion matrices, predictions).

Shared by the dashboard and the notebooks; no Streamlit here, so each figure can be built
and checked in a test or a notebook cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

SPLIT_DASH = {"train": "solid", "val": "dash", "test": "dot"}


def training_curves(metrics: pd.DataFrame, title: str = "") -> go.Figure:
    """Loss and accuracy against step for one run: train (solid) and val (dashed)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    for split in ("train", "val"):
        part = metrics[metrics["split"] == split] if len(metrics) else metrics
        if part.empty:
            continue
        for col, name in ((1, "loss"), (2, "accuracy")):
            fig.add_trace(go.Scatter(x=part["step"], y=part[name], name=f"{split} {name}",
                                     mode="lines+markers" if split == "val" else "lines",
                                     line={"dash": SPLIT_DASH[split]}), row=1, col=col)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(type="log", row=1, col=1)  # early val losses spike; log keeps the rest readable
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_layout(title=title, height=360, margin={"t": 60, "b": 40, "l": 40, "r": 20},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def compare_curves(metrics_by_run: dict[str, pd.DataFrame], metric: str = "accuracy",
                   split: str = "val") -> go.Figure:
    """One line per run of ``split`` ``metric`` against step: the overlay on the Runs page."""
    fig = go.Figure()
    for run_id, metrics in metrics_by_run.items():
        part = metrics[metrics["split"] == split] if len(metrics) else metrics
        if part.empty:
            continue
        fig.add_trace(go.Scatter(x=part["step"], y=part[metric], name=run_id, mode="lines+markers"))
    fig.update_layout(xaxis_title="step", yaxis_title=f"{split} {metric}", height=420,
                      legend={"orientation": "h", "y": -0.25}, margin={"t": 30})
    return fig


def confusion_heatmap(confusion: pd.DataFrame, normalize: bool = False) -> go.Figure:
    """Rows = true class, columns = predicted; counts, or each row divided by its total."""
    counts = confusion.to_numpy().astype(float)
    values = counts
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    names = [str(c) for c in confusion.columns]
    text = [[f"{v:.2f}" if normalize else f"{int(v)}" for v in row] for row in values]
    fig = go.Figure(go.Heatmap(
        z=values, x=names, y=[str(i) for i in confusion.index], text=text, texttemplate="%{text}",
        colorscale="Blues", hovertemplate="true %{y}<br>predicted %{x}<br>%{text}<extra></extra>",
        zmin=0, zmax=1 if normalize else None,
    ))
    fig.update_layout(xaxis_title="predicted class", yaxis_title="true class",
                      yaxis={"autorange": "reversed", "type": "category"},
                      xaxis={"type": "category", "side": "bottom"}, height=520, margin={"t": 30})
    return fig


def top_k_bars(top: list[tuple[str, float]]) -> go.Figure:
    names = [name for name, _ in top][::-1]
    probs = [p for _, p in top][::-1]
    fig = go.Figure(go.Bar(x=probs, y=names, orientation="h", text=[f"{p:.1%}" for p in probs],
                           textposition="auto"))
    fig.update_layout(xaxis={"range": [0, 1], "title": "probability"}, yaxis={"type": "category"},
                      height=60 + 40 * len(top), margin={"t": 10, "b": 40})
    return fig
