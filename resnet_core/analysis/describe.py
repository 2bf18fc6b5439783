"""What each chart shows, in one line of words: the text alternative a screen reader reads
(and anyone can read without looking at the canvas). Each function takes the same data as
its chart in charts.py; the pages put the line under the chart, with the numbers one toggle
away ("Show as a table")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from resnet_core.i18n import N_, _, ngettext

# The words for a split, a metric and a diagnostic in the lines below (run folders keep the keys).
SPLIT_WORDS = {"train": N_("train"), "val": N_("val"), "test": N_("test")}
METRIC_WORDS = {"error": N_("error (1 - accuracy)"), "loss": N_("loss"), "accuracy": N_("accuracy")}
DIAGNOSTIC_NAMES = {"grad_norm": N_("Gradient norm"), "branch_ratio": N_("Residual branch / shortcut norm")}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def describe_training_curves(metrics: pd.DataFrame) -> str:
    """The Train page's loss and accuracy curves."""
    train = metrics[metrics["split"] == "train"] if len(metrics) else metrics
    val = metrics[metrics["split"] == "val"] if len(metrics) else metrics
    if train.empty:
        return _("Loss and accuracy per step: no training step logged yet.")
    last = train.iloc[-1]
    text = _("Loss and accuracy per step, {points} training points to step {step}: training loss {loss}, "
             "training accuracy {accuracy}").format(points=len(train), step=int(last["step"]),
                                                    loss=f"{last['loss']:.3g}", accuracy=_pct(last["accuracy"]))
    if not val.empty:
        best = val.loc[val["accuracy"].idxmax()]
        text += _("; validation accuracy {accuracy} after epoch {epoch} (best {best}, epoch {best_epoch})").format(
            accuracy=_pct(val.iloc[-1]["accuracy"]), epoch=int(val.iloc[-1]["epoch"]),
            best=_pct(best["accuracy"]), best_epoch=int(best["epoch"]))
    return text + _(".")


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
    label = _(METRIC_WORDS.get(metric, metric))
    split_words = _(SPLIT_WORDS.get(split, split))
    if not ends:
        return _("{split} {metric} per step: nothing logged yet.").format(split=split_words, metric=label)
    lowest_first = metric in ("error", "loss")
    ends.sort(key=lambda e: e[1], reverse=not lowest_first)
    parts = _(", ").join(_("{run} {value} at step {step}").format(run=n, value=f"{v:.3g}", step=s)
                         for n, v, s in ends)
    text = (_("{split} {metric} per step, one line per run; last values, lowest first: {parts}.") if lowest_first
            else _("{split} {metric} per step, one line per run; last values, highest first: {parts}."))
    return text.format(split=split_words, metric=label, parts=parts)


def describe_confusion(confusion: pd.DataFrame) -> str:
    """The confusion matrix: how many are right, and the most frequent mistakes."""
    counts = confusion.to_numpy()
    total = int(counts.sum())
    right = int(np.trace(counts))
    if total == 0:
        return _("Confusion matrix: no predictions.")
    off = counts.copy()
    np.fill_diagonal(off, 0)
    worst = sorted(((int(off[r, c]), r, c) for r in range(len(off)) for c in range(len(off))
                    if off[r, c] > 0), reverse=True)[:3]
    names = [str(c) for c in confusion.columns]
    mistakes = _("; ").join(ngettext("{true} taken for {predicted} {n} time", "{true} taken for {predicted} {n} times",
                                     n).format(true=names[r], predicted=names[c], n=n) for n, r, c in worst)
    return (_("Confusion matrix, rows the true class and columns the predicted one: {right} of {total} on the "
              "diagonal ({share})").format(right=f"{right:,}", total=f"{total:,}", share=_pct(right / total))
            + (_("; most frequent mistakes: {mistakes}.").format(mistakes=mistakes) if mistakes
               else _("; no mistakes.")))


def describe_top_k(top: list[tuple[str, float]]) -> str:
    """The Predict page's bars."""
    return _("Top predictions: {predictions}.").format(
        predictions=_(", ").join(f"{name} {_pct(p)}" for name, p in top))


def describe_service(history: pd.DataFrame) -> str:
    """The Deploy page's throughput and latency."""
    # Latency is None until the first request: a service just started has no percentiles (a
    # format of None was the Deploy page's traceback right after "Start the service").
    if history.empty or pd.isna(history.iloc[-1]["p50"]):
        return _("Throughput and latency over time: no requests yet.")
    last = history.iloc[-1]
    return _("Throughput and latency over {seconds} s: now {rate} images/s, p50 {p50} ms, p99 {p99} ms (peak "
             "{peak} images/s).").format(seconds=f"{last['seconds']:.0f}", rate=f"{last['throughput']:.0f}",
                                         p50=f"{last['p50']:.1f}", p99=f"{last['p99']:.1f}",
                                         peak=f"{history['throughput'].max():.0f}")


def describe_transfer(rows: pd.DataFrame) -> str:
    """The transfer lesson: test accuracy against images per class, per start."""
    parts = []
    for start, part in rows.groupby("start"):
        part = part.sort_values("k")
        parts.append(f"{start}: " + ", ".join(f"k={int(k)} {_pct(a)}" for k, a in
                                              zip(part["k"], part["test accuracy"], strict=True)))
    return _("Test accuracy against training images per class; {parts}.").format(parts=_("; ").join(parts))


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
        change = (_("{ratio} times smaller at the input").format(ratio=f"{ratio:.3g}") if ratio >= 1
                  else _("{ratio} times larger at the input").format(ratio=f"{1 / ratio:.3g}"))
        parts.append(_("{run}: {first} at the first block, {last} at the last ({change})").format(
            run=label, first=f"{near_input:.2g}", last=f"{near_output:.2g}", change=change))
    if not parts:
        return _("Gradient norm of each block: no diagnostics logged yet.")
    return _("Gradient norm of each block at the first step, input to classifier, log scale: {parts}.").format(
        parts=_("; ").join(parts))


def describe_diagnostics(diag: pd.DataFrame, column: str = "grad_norm") -> str:
    """A run's per-block diagnostics against step: the latest value of the blocks with the
    smallest and the largest one."""
    name = _(DIAGNOSTIC_NAMES[column])
    part = diag.dropna(subset=[column]) if len(diag) else diag
    if not len(part):
        return _("{name} of each block over the steps: nothing logged yet.").format(name=name)
    last = part[part["step"] == part["step"].max()].set_index("block")[column]
    return _("{name} of each block over the steps ({blocks} blocks); at step {step} the smallest is {smallest} "
             "({low}) and the largest {largest} ({high}).").format(
        name=name, blocks=part["block"].nunique(), step=int(part["step"].max()), smallest=last.idxmin(),
        low=f"{last.min():.3g}", largest=last.idxmax(), high=f"{last.max():.3g}")


def describe_feature_maps(maps: dict) -> str:
    """The feature-map grid: which stages, at what size, how many channels shown."""
    sizes = _(", ").join(_("{stage} {size} ({channels} channels)").format(
        stage=name, size=f"{m.shape[-2]}x{m.shape[-1]}", channels=m.shape[0]) for name, m in maps.items())
    return _("Feature maps of one image, the first 8 channels of each stage as pictures from dark purple (weak "
             "activation) to yellow (strong): {sizes}.").format(sizes=sizes)


def describe_lr_find(sweep: pd.DataFrame, suggestion: float) -> str:
    """The learning-rate range test: where the loss is lowest, and the suggestion."""
    lowest = sweep.loc[sweep["smoothed_loss"].idxmin()]
    return _("Training loss against the learning rate, {low} to {high} (log scale): the smoothed loss is lowest, "
             "{loss}, at {at}; the suggestion, {suggestion}, is where it falls fastest.").format(
        low=f"{sweep['lr'].min():.2g}", high=f"{sweep['lr'].max():.2g}", loss=f"{lowest['smoothed_loss']:.3g}",
        at=f"{lowest['lr']:.3g}", suggestion=f"{suggestion:.3g}")


def announce_progress(what: str, done: int, total: int, *, unit: str | None = None) -> str:
    """A live view's line for a screen reader (pages/announce.py): how much of ``total`` is
    done, in quarters, so that it changes at most five times however often the page refreshes
    ("Sweep: 50% of 32 trials done.", "Lesson runs: all 3 done."). ``unit``: "runs" unless
    given, in the reader's language."""
    unit = unit or _("runs")
    if total <= 0:
        return _("{what}: nothing to do yet.").format(what=what)
    if done >= total:
        return _("{what}: all {total} {unit} done.").format(what=what, total=total, unit=unit)
    return _("{what}: {percent}% of {total} {unit} done.").format(
        what=what, percent=min(3, done * 4 // total) * 25, total=total, unit=unit)


def curves_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """A chart's numbers as a table: step, epoch, split, loss, accuracy (the rows plotted)."""
    columns = [c for c in ("split", "epoch", "step", "loss", "accuracy") if c in metrics.columns]
    part = metrics[metrics["split"].isin(["train", "val"])] if len(metrics) else metrics
    return part[columns].reset_index(drop=True)
