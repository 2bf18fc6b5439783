"""Evaluate a model on a split and write eval/<split>/ (predictions, confusion, per-class, summary)."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from .atomic import atomic_write_json, atomic_write_text
from .checkpoint import load_checkpoint, model_from_checkpoint
from .config import resolve_device
from .data import BatchLoader, Dataset, load_dataset_for, preprocess, with_statistics
from .errors import DataError, RunError
from .metrics import ClassificationReport, classification_report
from .runs import Run

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

    @property
    def y_pred(self) -> Tensor:
        return self.logits.argmax(1)

    @property
    def confidence(self) -> Tensor:
        return F.softmax(self.logits, dim=1).max(1).values

    def summary(self) -> dict:
        return {"split": self.split, "loss": self.loss, **self.report.summary()}


@torch.no_grad()
def predict_logits(model: nn.Module, loader: BatchLoader,
                   autocast_dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor]:
    """(logits, labels) for every image of the loader's split, in order, on the CPU."""
    was_training = model.training
    model.eval()
    all_logits, all_labels = [], []
    try:
        for x, y in loader.batches():
            with autocast_context(loader.device, autocast_dtype):
                logits = model(x)
            all_logits.append(logits.float())
            all_labels.append(y)
    finally:
        model.train(was_training)
    return torch.cat(all_logits).cpu(), torch.cat(all_labels).cpu()


def autocast_context(device: torch.device, dtype: torch.dtype | None, *,
                     cache_enabled: bool = True):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype, cache_enabled=cache_enabled)


def evaluate_model(model: nn.Module, dataset: Dataset, split: str, device: torch.device, *,
                   channels_last: bool = False, autocast_dtype: torch.dtype | None = None,
                   batch_size: int = EVAL_BATCH_SIZE) -> EvalResult:
    loader = BatchLoader(dataset.split(split), dataset.info, device, batch_size=batch_size,
                         channels_last=channels_last)
    logits, labels = predict_logits(model, loader, autocast_dtype)
    return result_from_logits(split, logits, labels, dataset.info.class_names)


def result_from_logits(split: str, logits: Tensor, labels: Tensor, class_names: list[str]) -> EvalResult:
    """Loss and the classification report of a split's logits (float32, on the CPU)."""
    loss = float(F.cross_entropy(logits, labels)) if len(labels) else float("nan")
    report = classification_report(labels, logits.argmax(1), class_names, logits)
    return EvalResult(split, loss, logits, labels, report)


def write_eval(run_dir: Path, result: EvalResult, checkpoint: str) -> Path:
    """eval/<split>/predictions.csv, confusion.csv, per_class.csv, summary.json (atomic each)."""
    import pandas as pd  # imported when a table is built, not with the module
    out = Run(Path(run_dir)).eval_dir(result.split)
    out.mkdir(parents=True, exist_ok=True)
    predictions = pd.DataFrame({
        "index": range(len(result.y_true)),
        "y_true": result.y_true.tolist(),
        "y_pred": result.y_pred.tolist(),
        "confidence": [round(c, 6) for c in result.confidence.tolist()],
    })
    atomic_write_text(out / "predictions.csv", _csv(predictions, index=False))
    atomic_write_text(out / "confusion.csv", _csv(result.report.confusion_frame(), index=True))
    atomic_write_text(out / "per_class.csv", _csv(result.report.per_class_frame(), index=False))
    atomic_write_json(out / "summary.json", {**result.summary(), "checkpoint": checkpoint})
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
    path, _ = run.checkpoint(checkpoint), run.eval_dir(split)  # one-line errors for bad names
    if not run.config_path.is_file():
        raise RunError(f"{run.dir} is not a run folder (no config.json)")
    dev = resolve_device(device)
    ckpt = load_checkpoint(path, map_location=dev)
    model, config, info = model_from_checkpoint(ckpt)
    if data_root is not None:
        config.data_root = data_root
    dataset = with_statistics(load_dataset_for(config), (info.mean, info.std))
    result = evaluate_model(model.to(dev), dataset, split, dev)
    write_eval(run.dir, result, checkpoint)
    return {**result.summary(), "checkpoint": checkpoint}


class Predictor:
    """A frozen snapshot of a run's weights (a checkpoint file, never the live model) plus its
    preprocessing contract; classifies image files, file objects or PIL images."""

    def __init__(self, checkpoint_path: str | Path) -> None:
        self.path = Path(checkpoint_path)
        self.model, self.config, self.info = model_from_checkpoint(load_checkpoint(self.path))

    def warm_up(self, rounds: int = 3) -> None:
        """Forward and backward on a blank input a few times: torch picks and warms its CPU
        kernels for a new input shape on the first calls (0.6-2.6 s for resnet20 on digits
        here), which would otherwise be the first drawing's wait on the Predict page."""
        x = torch.zeros(1, self.info.channels, self.info.image_size, self.info.image_size,
                        requires_grad=True)
        for _ in range(rounds):
            torch.autograd.grad(self.model(x).sum(), x)  # no parameter .grad is touched

    def preprocess(self, source) -> torch.Tensor:
        """The normalised (1, C, H, W) input, made exactly as for training and evaluation."""
        try:
            return preprocess([source], self.info)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
            name = getattr(source, "name", None) or getattr(source, "filename", None) or source
            raise DataError(f"{name} is not an image this tool can read (PNG, JPEG, BMP, GIF, "
                            f"TIFF, WebP): {e}") from e

    @torch.no_grad()
    def predict(self, sources: list, top_k: int = 3) -> list[list[tuple[str, float]]]:
        """Top-k (class name, probability) for each source, most likely first."""
        return self._top_k(torch.cat([self.preprocess(s) for s in sources]), top_k)

    @torch.no_grad()
    def predict_images(self, images: torch.Tensor, top_k: int = 3) -> list[list[tuple[str, float]]]:
        """The same for uint8 images (N, C, H, W) already at the input size (a drawing, a test
        image): normalised by the contract, nothing resized."""
        return self._top_k(self.info.normalize(images), top_k)

    def _top_k(self, batch: torch.Tensor, top_k: int) -> list[list[tuple[str, float]]]:
        probs = F.softmax(self.model(batch).float(), dim=1)
        top = probs.topk(min(top_k, self.info.num_classes), dim=1)
        names = self.info.class_names
        return [[(names[i], float(p)) for p, i in zip(ps.tolist(), idx.tolist(), strict=True)]
                for ps, idx in zip(top.values, top.indices, strict=True)]


def predict_images(run_dir: str | Path, sources: list, *, checkpoint: str = "best",
                   top_k: int = 3) -> list[list[tuple[str, float]]]:
    """Top-k (class name, probability) for each image with one of a run's checkpoints."""
    if checkpoint not in ("best", "last"):
        raise RunError(f"unknown checkpoint {checkpoint!r}; choose best or last")
    return Predictor(Run(Path(run_dir)).checkpoint(checkpoint)).predict(sources, top_k)
