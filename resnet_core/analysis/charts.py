"""Plotly figures from run data (metrics frames, confusion matrices, predictions).

Shared by the dashboard and the notebooks; no Streamlit here, so each figure can be built
and checked in a test or a notebook cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resnet_core.analysis.describe import METRIC_WORDS, SPLIT_WORDS, curve_rows
from resnet_core.analysis.palette import PALETTE, style
from resnet_core.i18n import _

SPLIT_DASH = {"train": "solid", "val": "dash", "test": "dot"}


LOG_TICKS = [m * 10.0**e for e in range(-4, 3) for m in (1, 2, 5)]  # 0.0001 ... 500


def training_curves(metrics: pd.DataFrame, title: str = "") -> go.Figure:
    """Loss and accuracy against step for one run: train (solid) and val (dashed)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("loss"), _("accuracy")))
    for split in ("train", "val"):
        part = metrics[metrics["split"] == split] if len(metrics) else metrics
        if part.empty:
            continue
        for col, name in ((1, "loss"), (2, "accuracy")):
            legend = _("{split} {metric}").format(split=_(SPLIT_WORDS[split]), metric=_(name))
            fig.add_trace(go.Scatter(x=part["step"], y=part[name], name=legend,
                                     mode="lines+markers" if split == "val" else "lines",
                                     line={"dash": SPLIT_DASH[split]}), row=1, col=col)
    fig.update_xaxes(title_text=_("step"))
    # Early val losses spike; log keeps the rest readable. Labels at 1, 2, 5 of each decade,
    # written out: plotly's own minor labels read "2 10 5 2 1 5 2 0.1".
    fig.update_yaxes(type="log", tickvals=LOG_TICKS, ticktext=[f"{v:g}" for v in LOG_TICKS],
                     row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_layout(title=title, height=360, margin={"t": 60, "b": 40, "l": 40, "r": 20},
                      legend={"orientation": "h", "y": -0.2})
    return style(fig)


def compare_curves(metrics_by_run: dict[str, pd.DataFrame], metric: str = "accuracy",
                   split: str = "val", *, mode: str = "lines+markers", log_y: bool = False) -> go.Figure:
    """One line per run of ``split`` ``metric`` against step: the overlay on the Runs page.

    ``metric="error"`` plots 1 - accuracy (He et al.'s training error).
    """
    fig = go.Figure()
    for run_id, metrics in metrics_by_run.items():
        part = curve_rows(metrics, split, metric)
        if part.empty:
            continue
        y = 1.0 - part["accuracy"] if metric == "error" else part[metric]
        fig.add_trace(go.Scatter(x=part["step"], y=y, name=run_id, mode=mode))
    title = _(METRIC_WORDS.get(metric, metric))
    fig.update_layout(xaxis_title=_("step"), yaxis_title=_("{split} {metric}").format(
        split=_(SPLIT_WORDS.get(split, split)), metric=title), height=420,
                      legend={"orientation": "h", "y": -0.25}, margin={"t": 30})
    if log_y:
        fig.update_yaxes(type="log")
    return style(fig)


def confusion_heatmap(confusion: pd.DataFrame, normalize: bool = False) -> go.Figure:
    """Rows = true class, columns = predicted; counts, or each row divided by its total."""
    counts = confusion.to_numpy().astype(float)
    values = counts
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    names = [str(c) for c in confusion.columns]
    text = [[f"{v:.2f}" if normalize else f"{int(v)}" for v in row] for row in values]
    rows = [str(i) for i in confusion.index]
    fig = go.Figure(go.Heatmap(
        z=values, x=names, y=rows, text=text, texttemplate="%{text}", hoverinfo="skip",
        colorscale="Blues", zmin=0, zmax=1 if normalize else None,
    ))
    # One invisible square marker per cell, on top: a click selects it (Streamlit's selection
    # events carry no points for heatmap traces), so a click on a cell can open its drill-down.
    cells = [(r, c) for r in range(len(rows)) for c in range(len(names))]
    fig.add_trace(go.Scatter(
        x=[names[c] for _row, c in cells], y=[rows[r] for r, _col in cells], mode="markers",
        marker={"symbol": "square", "size": 28, "color": "rgba(0,0,0,0)"},
        text=[text[r][c] for r, c in cells], showlegend=False, name="cells",
        hovertemplate=_("true %{y}<br>predicted %{x}<br>%{text}<br>(click: its images)") + "<extra></extra>",
        selected={"marker": {"color": "rgba(0,0,0,0)"}}, unselected={"marker": {"opacity": 1}},
    ))
    fig.update_layout(xaxis_title=_("predicted class"), yaxis_title=_("true class"),
                      yaxis={"autorange": "reversed", "type": "category"},
                      xaxis={"type": "category", "side": "bottom"}, height=520, margin={"t": 30})
    return style(fig)


def top_k_bars(top: list[tuple[str, float]]) -> go.Figure:
    names = [name for name, _p in top][::-1]
    probs = [p for _name, p in top][::-1]
    fig = go.Figure(go.Bar(x=probs, y=names, orientation="h", text=[f"{p:.1%}" for p in probs],
                           textposition="auto"))
    fig.update_layout(xaxis={"range": [0, 1], "title": _("probability")}, yaxis={"type": "category"},
                      height=60 + 40 * len(top), margin={"t": 10, "b": 40})
    return style(fig)


# ----------------------------------------------------------------------------- lessons


def lesson_curves(metrics_by_label: dict[str, pd.DataFrame], metric: str = "error",
                  split: str = "train", log_y: bool = False) -> go.Figure:
    """``compare_curves`` for a lesson's twins: lines only, plain runs dashed."""
    fig = compare_curves(metrics_by_label, metric, split, mode="lines", log_y=log_y)
    fig.for_each_trace(lambda t: t.update(line_dash="dash" if "plain" in t.name else "solid"))
    return style(fig)


def gradient_norm_profile(diagnostics_by_label: dict[str, pd.DataFrame], step: int | None = None
                          ) -> go.Figure:
    """Gradient norm per block, input (left) to output (right), log scale, one line per run.

    ``step``: the logged step to show (default: the first, where vanishing gradients are
    plainest before training adapts).
    """
    fig = go.Figure()
    for label, diag in diagnostics_by_label.items():
        if diag.empty:
            continue
        at = diag["step"].min() if step is None else diag.loc[diag["step"] <= step, "step"].max()
        part = diag[diag["step"] == at]
        fig.add_trace(go.Scatter(x=part["block"], y=part["grad_norm"], name=_("{run} (step {step})").format(run=label, step=at),
                                 mode="lines+markers"))
    fig.update_yaxes(type="log", title_text=_("gradient norm (log)"), exponentformat="power")
    fig.update_xaxes(title_text=_("block, from the input to the classifier"))
    fig.update_layout(height=380, legend={"orientation": "h", "y": -0.3}, margin={"t": 30})
    return style(fig)


def diagnostics_over_time(diag: pd.DataFrame, column: str = "grad_norm") -> go.Figure:
    """One line per block of ``column`` (grad_norm or branch_ratio) against step: the live view."""
    fig = go.Figure()
    part = diag.dropna(subset=[column]) if len(diag) else diag
    for block, rows in part.groupby("block", sort=False):
        fig.add_trace(go.Scatter(x=rows["step"], y=rows[column], name=str(block), mode="lines"))
    label = {"grad_norm": _("gradient norm (log)"), "branch_ratio": "||F(x)|| / ||shortcut(x)||"}[column]
    fig.update_yaxes(title_text=label, type="log" if column == "grad_norm" else "linear")
    fig.update_layout(xaxis_title=_("step"), height=360, margin={"t": 30},
                      legend={"orientation": "h", "y": -0.3})
    return style(fig)


def feature_map_grid(maps: dict[str, np.ndarray], channels: int = 8) -> go.Figure:
    """The first ``channels`` activation maps of each stage (rows: stem, layer1, ...)."""
    stages = list(maps)
    fig = make_subplots(rows=len(stages), cols=channels, horizontal_spacing=0.01,
                        vertical_spacing=0.04,
                        subplot_titles=[f"{s} ch{c}" if c < len(maps[s]) else ""
                                        for s in stages for c in range(channels)])
    for r, stage in enumerate(stages, start=1):
        fmap = np.asarray(maps[stage])
        for c in range(min(channels, len(fmap))):
            fig.add_trace(go.Heatmap(z=fmap[c][::-1], colorscale="Viridis", showscale=False,
                                     hovertemplate=_("{stage} channel {channel}").format(stage=stage, channel=c)
                                     + ": %{z:.3f}<extra></extra>"),
                          row=r, col=c + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_annotations(font_size=10)
    fig.update_layout(height=130 * len(stages) + 40, margin={"t": 30, "b": 10, "l": 10, "r": 10})
    return style(fig)


def lr_find_curve(sweep: pd.DataFrame, suggestion: float) -> go.Figure:
    """The learning-rate range test (lr_find.py's CSV): loss against a log learning rate."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=sweep["lr"], y=sweep["loss"], name=_("loss"), mode="lines",
                             line={"color": "#767676", "width": 1}))  # grey at 4.5:1 on white
    fig.add_trace(go.Scatter(x=sweep["lr"], y=sweep["smoothed_loss"], name=_("smoothed"),
                             mode="lines", line={"width": 3}))
    fig.add_vline(x=suggestion, line_dash="dash", line_color=PALETTE[1],
                  annotation_text=f"suggested {suggestion:.3g}")
    low = float(sweep["smoothed_loss"].min())
    high = min(float(sweep["smoothed_loss"].max()), 3 * float(sweep["smoothed_loss"].iloc[0]))
    fig.update_xaxes(type="log", title_text=_("learning rate"))
    fig.update_yaxes(title_text=_("training loss"), range=[0.9 * low, max(high, 1.5 * low)])
    fig.update_layout(height=320, margin={"t": 30, "b": 40, "l": 40, "r": 20},
                      legend={"orientation": "h", "y": -0.25})
    return style(fig)


def transfer_curve(rows: pd.DataFrame) -> go.Figure:
    """The transfer lesson: test accuracy against images per class, scratch and pretrained."""
    fig = go.Figure()
    for start, part in rows.groupby("start"):
        part = part.sort_values("k")
        fig.add_trace(go.Scatter(x=part["k"], y=part["test accuracy"], name=start,
                                 mode="lines+markers", line={"dash": "dash" if start == "scratch" else "solid"}))
    fig.update_xaxes(type="log", title_text=_("training images per class (k)"),
                     tickvals=sorted(rows["k"].unique()))
    fig.update_yaxes(title_text=_("test accuracy"), range=[0, 1.02])
    fig.update_layout(height=340, margin={"t": 30, "b": 40, "l": 40, "r": 20},
                      legend={"orientation": "h", "y": -0.25})
    return style(fig)


def service_curves(history: pd.DataFrame) -> go.Figure:
    """A live service over time (the Deploy page): throughput, and p50 / p99 latency."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("images per second"), _("latency (ms)")))
    if len(history):
        fig.add_trace(go.Scatter(x=history["seconds"], y=history["throughput"], name=_("images/s"),
                                 mode="lines+markers"), row=1, col=1)
        for name, dash in (("p50", "solid"), ("p99", "dash")):
            fig.add_trace(go.Scatter(x=history["seconds"], y=history[name], name=name,
                                     mode="lines+markers", line={"dash": dash}), row=1, col=2)
    fig.update_xaxes(title_text=_("seconds since the service started"))
    fig.update_layout(height=320, margin={"t": 50, "b": 40, "l": 40, "r": 20},
                      legend={"orientation": "h", "y": -0.3})
    return style(fig)
