"""Evaluating a model on a split: logits, the metrics (through training/metrics.py), and the
eval/<split>/ files of a run folder (summary, per-class, confusion matrix, predictions)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from resnet_core.atomic import atomic_write_json, atomic_write_text
from resnet_core.data.dataset import Dataset, with_statistics
from resnet_core.data.loader import BatchLoader
from resnet_core.data.sources import load_dataset_for
from resnet_core.device import autocast_context, resolve_amp, resolve_device
from resnet_core.errors import ConfigError, RunError
from resnet_core.i18n import _
from resnet_core.runs.folder import Run
from resnet_core.training.checkpoint import load_checkpoint, model_from_checkpoint
from resnet_core.training.metrics import ClassificationReport, classification_report

if TYPE_CHECKING:
    import pandas as pd


EVAL_BATCH_SIZE = 256


@dataclass
class EvalResult:
    split: str
    loss: float
    logits: Tensor  # float32 (N, K), on the CPU
    y_true: Tensor  # int64 (N,)
    report: ClassificationReport
    plain: ClassificationReport | None = None  # with TTA: the report without it, to compare

    @property
    def y_pred(self) -> Tensor:
        return self.logits.argmax(1)

    @property
    def confidence(self) -> Tensor:
        return F.softmax(self.logits, dim=1).max(1).values

    def tta_figures(self) -> dict:
        """What a metrics line adds for a result with TTA: {"tta": True, "plain_accuracy"}; {}
        for a plain one."""
        return {} if self.plain is None else {"tta": True, "plain_accuracy": self.plain.accuracy}

    def summary(self) -> dict:
        """The split's figures; with TTA it says so and gives the plain figures beside them."""
        extra = self.tta_figures()
        if self.plain is not None:
            extra["plain_macro_f1"] = self.plain.summary()["macro_f1"]
        return {"split": self.split, "loss": self.loss, **self.report.summary(), **extra}


@torch.no_grad()
def predict_logits(model: nn.Module, loader: BatchLoader, autocast_dtype: torch.dtype | None = None,
                   *, mirrored: bool = False) -> tuple[Tensor, Tensor]:
    """(logits, labels) for every image of the loader's split, in order, on the CPU;
    ``mirrored``: of each image flipped left to right (test-time augmentation's second view)."""
    was_training = model.training
    model.eval()
    all_logits, all_labels = [], []
    try:
        for x, y in loader.batches():
            with autocast_context(loader.device, autocast_dtype):
                logits = model(x.flip(3) if mirrored else x)
            all_logits.append(logits.float())
            all_labels.append(y)
    finally:
        model.train(was_training)
    return torch.cat(all_logits).cpu(), torch.cat(all_labels).cpu()


def evaluate_model(model: nn.Module, dataset: Dataset, split: str, device: torch.device, *,
                   channels_last: bool = False, autocast_dtype: torch.dtype | None = None,
                   batch_size: int = EVAL_BATCH_SIZE, tta: bool = False) -> EvalResult:
    """The split's result; with ``tta`` of the logits averaged over each image and its mirror
    (the plain result kept beside it: its logits are the first of the two passes)."""
    loader = BatchLoader(dataset.split(split), dataset.info, device, batch_size=batch_size,
                         channels_last=channels_last)
    logits, labels = predict_logits(model, loader, autocast_dtype)
    if not tta:
        return result_from_logits(split, logits, labels, dataset.info.class_names)
    mirrored, _labels = predict_logits(model, loader, autocast_dtype, mirrored=True)
    plain = result_from_logits(split, logits, labels, dataset.info.class_names)
    both = result_from_logits(split, (logits + mirrored) / 2, labels, dataset.info.class_names)
    both.plain = plain.report
    return both


def result_from_logits(split: str, logits: Tensor, labels: Tensor, class_names: list[str]) -> EvalResult:
    """Loss and the classification report of a split's logits (float32, on the CPU)."""
    loss = float(F.cross_entropy(logits, labels)) if len(labels) else float("nan")
    report = classification_report(labels, logits.argmax(1), class_names, logits)
    return EvalResult(split, loss, logits, labels, report)


def tta_note(summary: dict) -> str:
    """What follows an accuracy evaluated with test-time augmentation: " (with flip TTA;
    without it 0.9388)"; "" for a plain one."""
    if not summary.get("tta"):
        return ""
    return _(" (with flip TTA; without it {plain})").format(plain=f"{summary['plain_accuracy']:.4f}")


def write_eval(run_dir: Path, result: EvalResult, checkpoint: str) -> Path:
    """eval/<split>/predictions.csv, confusion.csv, per_class.csv, summary.json (atomic each)."""
    import pandas as pd  # imported when a table is built, not with the module
    run = Run(Path(run_dir))
    out = run.eval_dir(result.split)
    out.mkdir(parents=True, exist_ok=True)
    predictions = pd.DataFrame({
        "index": range(len(result.y_true)),
        "y_true": result.y_true.tolist(),
        "y_pred": result.y_pred.tolist(),
        "confidence": [round(c, 6) for c in result.confidence.tolist()],
    })
    atomic_write_text(run.eval_file(result.split, "predictions"), _csv(predictions, index=False))
    atomic_write_text(run.eval_file(result.split, "confusion"), _csv(result.report.confusion_frame(), index=True))
    atomic_write_text(run.eval_file(result.split, "per_class"), _csv(result.report.per_class_frame(), index=False))
    atomic_write_json(run.eval_file(result.split, "summary"), {**result.summary(), "checkpoint": checkpoint})
    return out


def misclassified(predictions: pd.DataFrame) -> pd.DataFrame:
    """The wrong rows of a predictions.csv frame, most confident mistakes first."""
    wrong = predictions[predictions.y_true != predictions.y_pred]
    return wrong.sort_values("confidence", ascending=False)


def _csv(frame: pd.DataFrame, index: bool) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=index)
    return buf.getvalue()


def evaluate_run(run_dir: str | Path, *, split: str = "test", checkpoint: str = "best",
                 device: str = "auto", data_root: str | None = None) -> dict:
    """Recompute eval/<split>/ of a run from one of its checkpoints; return the summary."""
    run = Run(Path(run_dir))
    path, _eval_dir = run.checkpoint(checkpoint), run.eval_dir(split)  # one-line errors for bad names
    if not run.config_path.is_file():
        raise RunError(_("{dir} is not a run folder (no config.json)").format(dir=run.dir))
    dev = resolve_device(device)
    ckpt = load_checkpoint(path, map_location=dev)
    model, config, info = model_from_checkpoint(ckpt)
    if data_root is not None:
        config.data_root = data_root
    dataset = with_statistics(load_dataset_for(config), (info.mean, info.std))
    # As the run evaluated itself at its end (its precision and memory format): re-evaluating
    # once turned a bf16 run's 0.9324 into fp32's 0.9325, a figure that moved on its own.
    try:
        autocast_dtype = resolve_amp(config.amp, dev)
    except ConfigError:  # fp16 trained on a GPU, evaluated on a CPU: fp32 is what there is
        autocast_dtype = None
    model = model.to(dev)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    result = evaluate_model(model, dataset, split, dev, channels_last=config.channels_last,
                            autocast_dtype=autocast_dtype, tta=config.tta)
    write_eval(run.dir, result, checkpoint)
    return {**result.summary(), "checkpoint": checkpoint}
