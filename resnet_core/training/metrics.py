"""Classification metrics from predictions: accuracy, top-5, confusion matrix, per-class P/R/F1.

Computed from the confusion matrix with the same conventions as scikit-learn's
``precision_recall_fscore_support(..., zero_division=0)`` and ``confusion_matrix`` (the tests
use them as the reference): a class never predicted has precision 0, a class absent from
the labels has recall 0, and F1 is 0 where precision + recall is 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from resnet_core.i18n import N_

if TYPE_CHECKING:
    import pandas as pd


# The headline metrics of a summary (eval/<split>/summary.json, serve's rolling window), and
# how a table heads them.
HEADLINE_METRICS = {"accuracy": N_("accuracy"), "macro_precision": N_("precision (macro)"),
                    "macro_recall": N_("recall (macro)"), "macro_f1": N_("F1 (macro)")}


@dataclass
class ClassificationReport:
    class_names: list[str]
    confusion: Tensor  # int64 (K, K): rows = true class, columns = predicted class
    precision: Tensor  # float64 (K,)
    recall: Tensor
    f1: Tensor
    support: Tensor  # int64 (K,): true samples per class
    accuracy: float
    top5_accuracy: float | None  # only where there are more than 5 classes

    @property
    def num_samples(self) -> int:
        return int(self.support.sum())

    def summary(self) -> dict:
        weights = self.support.double() / max(1, self.num_samples)
        out = {
            "accuracy": self.accuracy,
            "macro_precision": float(self.precision.mean()),
            "macro_recall": float(self.recall.mean()),
            "macro_f1": float(self.f1.mean()),
            "weighted_f1": float((self.f1 * weights).sum()),
            "num_samples": self.num_samples,
        }
        if self.top5_accuracy is not None:
            out["top5_accuracy"] = self.top5_accuracy
        return out

    def per_class_frame(self) -> pd.DataFrame:
        import pandas as pd  # imported when a table is built, not with the module
        return pd.DataFrame({
            "class": self.class_names,
            "precision": self.precision.tolist(),
            "recall": self.recall.tolist(),
            "f1": self.f1.tolist(),
            "support": self.support.tolist(),
        })

    def confusion_frame(self) -> pd.DataFrame:
        import pandas as pd  # imported when a table is built, not with the module
        frame = pd.DataFrame(self.confusion.numpy(), index=self.class_names, columns=self.class_names)
        frame.index.name = "true"
        return frame


def confusion_matrix(y_true: Tensor, y_pred: Tensor, num_classes: int) -> Tensor:
    """Counts (K, K), rows = true class, columns = predicted class."""
    flat = y_true.long() * num_classes + y_pred.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).view(num_classes, num_classes)


def _safe_divide(num: Tensor, den: Tensor) -> Tensor:
    safe = torch.where(den > 0, den, torch.ones_like(den))
    return torch.where(den > 0, num / safe, torch.zeros_like(num))


def classification_report(
    y_true: Tensor, y_pred: Tensor, class_names: list[str], logits: Tensor | None = None
) -> ClassificationReport:
    """All metrics for one split. ``logits`` (N, K) adds top-5 accuracy where K > 5."""
    k = len(class_names)
    cm = confusion_matrix(y_true.cpu(), y_pred.cpu(), k)
    tp = cm.diag().double()
    predicted = cm.sum(0).double()
    support = cm.sum(1)
    precision = _safe_divide(tp, predicted)
    recall = _safe_divide(tp, support.double())
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    n = int(support.sum())
    accuracy = float(tp.sum() / n) if n else 0.0
    top5 = None
    if logits is not None and k > 5 and n:
        top = logits.topk(5, dim=1).indices.cpu()
        top5 = float((top == y_true.cpu().view(-1, 1)).any(dim=1).double().mean())
    return ClassificationReport(class_names, cm, precision, recall, f1, support, accuracy, top5)
