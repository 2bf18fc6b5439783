"""The rolling window of labelled predictions behind serve's live accuracy and macro P/R/F1.

One label per prediction id: a later label for the same id replaces the earlier one (a
labeller correcting a mistake), so repeating an id cannot outvote the others. The window
keeps a confusion matrix up to date as pairs enter and leave, so a request costs O(items +
K^2) whatever the window's size, and the metrics are scikit-learn's definitions
(``zero_division=0``) over the classes present in the window's labels or predictions.
"""

from __future__ import annotations

import collections

import numpy as np


class FeedbackWindow:
    """The last ``size`` (true, predicted) pairs, keyed by prediction id."""

    def __init__(self, num_classes: int, size: int) -> None:
        self.size = size
        self.pairs: collections.OrderedDict[str, tuple[int, int]] = collections.OrderedDict()
        self.confusion = np.zeros((num_classes, num_classes), dtype=np.int64)  # [true, predicted]

    def __len__(self) -> int:
        return len(self.pairs)

    def add(self, pid: str, true: int, predicted: int) -> bool:
        """Record a label; True when it replaced an earlier label of the same prediction."""
        old = self.pairs.pop(pid, None)
        if old is not None:
            self.confusion[old] -= 1
        self.pairs[pid] = (true, predicted)
        self.confusion[true, predicted] += 1
        while len(self.pairs) > self.size:
            _, gone = self.pairs.popitem(last=False)
            self.confusion[gone] -= 1
        return old is not None

    def metrics(self) -> dict:
        """Accuracy and macro precision, recall and F1 over the window ({} when empty)."""
        c = self.confusion
        total = int(c.sum())
        if total == 0:
            return {}
        tp = np.diag(c).astype(np.float64)
        predicted, actual = c.sum(axis=0), c.sum(axis=1)
        present = (predicted + actual) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(predicted > 0, tp / predicted, 0.0)
            recall = np.where(actual > 0, tp / actual, 0.0)
            f1 = np.where(present, 2 * tp / (predicted + actual), 0.0)
        return {"accuracy": float(tp.sum() / total),
                "macro_precision": float(precision[present].mean()),
                "macro_recall": float(recall[present].mean()),
                "macro_f1": float(f1[present].mean()),
                "window": len(self.pairs)}
