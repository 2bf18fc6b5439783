"""What each chart shows, in one line of words: the text alternative a screen reader reads
(and anyone can read without looking at the canvas). Each function takes the same data as
its chart in charts.py; the pages put the line under the chart, with the numbers one toggle
away ("Show as a table")."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def describe_training_curves(metrics: pd.DataFrame) -> str:
    """The Train page's loss and accuracy curves."""
    train = metrics[metrics["split"] == "train"] if len(metrics) else metrics
    val = metrics[metrics["split"] == "val"] if len(metrics) else metrics
    if train.empty:
        return "Loss and accuracy per step: no training step logged yet."
    last = train.iloc[-1]
    text = (f"Loss and accuracy per step, {len(train)} training points to step {int(last['step'])}: "
            f"training loss {last['loss']:.3g}, training accuracy {_pct(last['accuracy'])}")
    if not val.empty:
        best = val.loc[val["accuracy"].idxmax()]
        text += (f"; validation accuracy {_pct(val.iloc[-1]['accuracy'])} after epoch "
                 f"{int(val.iloc[-1]['epoch'])} (best {_pct(best['accuracy'])}, epoch {int(best['epoch'])})")
    return text + "."


def curve_rows(metrics: pd.DataFrame, split: str, metric: str) -> pd.DataFrame:
    """The lines of ``split`` that carry ``metric`` ("error" reads accuracy): a run imported
    from elsewhere may log a loss and no accuracy, or the other way round."""
    column = "accuracy" if metric == "error" else metric
    if not len(metrics) or column not in metrics.columns:
        return metrics.iloc[0:0]
    return metrics[(metrics["split"] == split) & metrics[column].notna()]


def describe_compare_curves(metrics_by_run: dict[str, pd.DataFrame], metric: str = "accuracy",
                   split: str = "val") -> str:
    """The overlay of several runs (Runs page, lessons): each run's last value."""
    ends = []
    for name, m in metrics_by_run.items():
        part = curve_rows(m, split, metric)
        if part.empty:
            continue
        value = part.iloc[-1]["accuracy"] if metric in ("accuracy", "error") else part.iloc[-1][metric]
        value = 1 - value if metric == "error" else value
        ends.append((name, float(value), int(part.iloc[-1]["step"])))
    label = "error (1 - accuracy)" if metric == "error" else metric
    if not ends:
        return f"{split} {label} per step: nothing logged yet."
    lowest_first = metric in ("error", "loss")
    ends.sort(key=lambda e: e[1], reverse=not lowest_first)
    parts = ", ".join(f"{n} {v:.3g} at step {s}" for n, v, s in ends)
    order = "lowest" if lowest_first else "highest"
    return f"{split} {label} per step, one line per run; last values, {order} first: {parts}."


def describe_confusion(confusion: pd.DataFrame) -> str:
    """The confusion matrix: how many are right, and the most frequent mistakes."""
    counts = confusion.to_numpy()
    total = int(counts.sum())
    right = int(np.trace(counts))
    if total == 0:
        return "Confusion matrix: no predictions."
    off = counts.copy()
    np.fill_diagonal(off, 0)
    worst = sorted(((int(off[r, c]), r, c) for r in range(len(off)) for c in range(len(off))
                    if off[r, c] > 0), reverse=True)[:3]
    names = [str(c) for c in confusion.columns]
    mistakes = "; ".join(f"{names[r]} taken for {names[c]} {n} time{'s' if n > 1 else ''}"
                         for n, r, c in worst)
    return (f"Confusion matrix, rows the true class and columns the predicted one: {right:,} of "
            f"{total:,} on the diagonal ({_pct(right / total)})"
            + (f"; most frequent mistakes: {mistakes}." if mistakes else "; no mistakes."))


def describe_top_k(top: list[tuple[str, float]]) -> str:
    """The Predict page's bars."""
    return "Top predictions: " + ", ".join(f"{name} {_pct(p)}" for name, p in top) + "."


def describe_service(history: pd.DataFrame) -> str:
    """The Deploy page's throughput and latency."""
    # Latency is None until the first request: a service just started has no percentiles (a
    # format of None was the Deploy page's traceback right after "Start the service").
    if history.empty or pd.isna(history.iloc[-1]["p50"]):
        return "Throughput and latency over time: no requests yet."
    last = history.iloc[-1]
    return (f"Throughput and latency over {last['seconds']:.0f} s: now {last['throughput']:.0f} "
            f"images/s, p50 {last['p50']:.1f} ms, p99 {last['p99']:.1f} ms (peak "
            f"{history['throughput'].max():.0f} images/s).")


def describe_transfer(rows: pd.DataFrame) -> str:
    """The transfer lesson: test accuracy against images per class, per start."""
    parts = []
    for start, part in rows.groupby("start"):
        part = part.sort_values("k")
        parts.append(f"{start}: " + ", ".join(f"k={int(k)} {_pct(a)}" for k, a in
                                              zip(part["k"], part["test accuracy"], strict=True)))
    return "Test accuracy against training images per class; " + "; ".join(parts) + "."


def describe_gradient_profile(diagnostics_by_label: dict[str, pd.DataFrame]) -> str:
    """The gradient norm per block at the first logged step, one line per run (the
    activations lesson): how much the gradient shrinks from the classifier to the input."""
    parts = []
    for label, diag in diagnostics_by_label.items():
        first = diag[diag["step"] == diag["step"].min()].dropna(subset=["grad_norm"]) if len(diag) else diag
        if len(first) < 2:
            continue
        near_input, near_output = float(first["grad_norm"].iloc[0]), float(first["grad_norm"].iloc[-1])
        ratio = near_output / near_input if near_input > 0 else float("inf")
        change = (f"{ratio:.3g} times smaller at the input" if ratio >= 1
                  else f"{1 / ratio:.3g} times larger at the input")
        parts.append(f"{label}: {near_input:.2g} at the first block, {near_output:.2g} at the last "
                     f"({change})")
    if not parts:
        return "Gradient norm of each block: no diagnostics logged yet."
    return ("Gradient norm of each block at the first step, input to classifier, log scale: "
            + "; ".join(parts) + ".")


def describe_diagnostics(diag: pd.DataFrame, column: str = "grad_norm") -> str:
    """A run's per-block diagnostics against step: the latest value of the blocks with the
    smallest and the largest one."""
    name = {"grad_norm": "Gradient norm", "branch_ratio": "Residual branch / shortcut norm"}[column]
    part = diag.dropna(subset=[column]) if len(diag) else diag
    if not len(part):
        return f"{name} of each block over the steps: nothing logged yet."
    last = part[part["step"] == part["step"].max()].set_index("block")[column]
    return (f"{name} of each block over the steps ({part['block'].nunique()} blocks); at step "
            f"{int(part['step'].max())} the smallest is {last.idxmin()} ({last.min():.3g}) and the "
            f"largest {last.idxmax()} ({last.max():.3g}).")


def describe_feature_maps(maps: dict) -> str:
    """The feature-map grid: which stages, at what size, how many channels shown."""
    sizes = ", ".join(f"{name} {m.shape[-2]}x{m.shape[-1]} ({m.shape[0]} channels)" for name, m in maps.items())
    return (f"Feature maps of one image, the first 8 channels of each stage as pictures from "
            f"dark purple (weak activation) to yellow (strong): {sizes}.")


def describe_lr_find(sweep: pd.DataFrame, suggestion: float) -> str:
    """The learning-rate range test: where the loss is lowest, and the suggestion."""
    lowest = sweep.loc[sweep["smoothed_loss"].idxmin()]
    return (f"Training loss against the learning rate, {sweep['lr'].min():.2g} to {sweep['lr'].max():.2g} "
            f"(log scale): the smoothed loss is lowest, {lowest['smoothed_loss']:.3g}, at "
            f"{lowest['lr']:.3g}; the suggestion, {suggestion:.3g}, is where it falls fastest.")


def announce_progress(what: str, done: int, total: int, *, unit: str = "runs") -> str:
    """A live view's line for a screen reader (pages/announce.py): how much of ``total`` is
    done, in quarters, so that it changes at most five times however often the page refreshes
    ("Sweep: 50% of 32 trials done.", "Lesson runs: all 3 done.")."""
    if total <= 0:
        return f"{what}: nothing to do yet."
    if done >= total:
        return f"{what}: all {total} {unit} done."
    return f"{what}: {min(3, done * 4 // total) * 25}% of {total} {unit} done."


def curves_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """A chart's numbers as a table: step, epoch, split, loss, accuracy (the rows plotted)."""
    columns = [c for c in ("split", "epoch", "step", "loss", "accuracy") if c in metrics.columns]
    part = metrics[metrics["split"].isin(["train", "val"])] if len(metrics) else metrics
    return part[columns].reset_index(drop=True)
