"""serve's live metrics: the rolling window of labelled predictions behind its accuracy and
macro P/R/F1 (``FeedbackWindow``), and the ``Monitor`` that exports them with the request
counters, latencies and the inputs' drift (Prometheus and JSON).

One label per prediction id: a later label for the same id replaces the earlier one (a
labeller correcting a mistake), so repeating an id cannot outvote the others. The window
keeps a confusion matrix up to date as pairs enter and leave, so a request costs O(items +
K^2) whatever the window's size, and the metrics are scikit-learn's definitions
(``zero_division=0``) over the classes present in the window's labels or predictions.
"""

from __future__ import annotations

import collections
import time

import numpy as np

FEEDBACK_WINDOW = 1000  # the rolling metrics cover the last this many labelled predictions
DRIFT_WINDOW = 500  # images in the rolling input statistics
DRIFT_WARN = 0.5  # |rolling mean - training mean| / training std above this: a warning


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


class Monitor:
    """Counters, latencies, the feedback window and the input statistics, exported to
    Prometheus (its own registry) and as JSON."""

    def __init__(self, info) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.info = info
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("resnet_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=r)
        self.images = Counter("resnet_images", "images classified", registry=r)
        self.errors = Counter("resnet_errors", "requests answered with an error", ["kind"], registry=r)
        self.latency = Histogram("resnet_predict_latency_seconds", "POST /predict, arrival to answer",
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5),
                                 registry=r)
        self.batch = Histogram("resnet_batch_size", "images per model call",
                               buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=r)
        self.gauges = {name: Gauge(f"resnet_rolling_{name}", f"rolling {name} over the feedback window",
                                   registry=r)
                       for name in ("accuracy", "macro_precision", "macro_recall", "macro_f1")}
        self.window_size = Gauge("resnet_feedback_window", "labelled predictions in the window",
                                 registry=r)
        self.input_mean = Gauge("resnet_input_mean", "rolling mean intensity of the inputs (0-1)",
                                ["channel"], registry=r)
        self.train_mean = Gauge("resnet_training_mean", "the training set's mean intensity (0-1)",
                                ["channel"], registry=r)
        self.drift = Gauge("resnet_input_drift", "max over channels of |input mean - training "
                           "mean| / training std", registry=r)
        for c, m in enumerate(info.mean):
            self.train_mean.labels(str(c)).set(m)
        self.feedback = FeedbackWindow(len(info.class_names), FEEDBACK_WINDOW)
        self.means: collections.deque = collections.deque(maxlen=DRIFT_WINDOW)
        self.means_sum = [0.0] * len(info.mean)  # kept with the window: no re-sum per image
        # Read when scraped, not set per image: the event loop does as little as it can.
        for c in range(len(info.mean)):
            self.input_mean.labels(str(c)).set_function(lambda c=c: (self.rolling_mean() or [0.0] * len(info.mean))[c])
        self.drift.set_function(lambda: self.drift_score() or 0.0)
        self.sizes: collections.deque = collections.deque(maxlen=DRIFT_WINDOW)
        self.latencies: collections.deque = collections.deque(maxlen=2000)
        self.started = time.monotonic()
        self.count = 0

    def observe_inputs(self, mean: list[float], size: tuple[int, int]) -> None:
        """One image's mean intensity per channel (0-1) and its size."""
        if len(self.means) == self.means.maxlen:
            gone = self.means[0]  # the one the append below pushes out
            self.means_sum = [s - g for s, g in zip(self.means_sum, gone, strict=True)]
        self.means.append(mean)
        self.means_sum = [s + m for s, m in zip(self.means_sum, mean, strict=True)]
        self.sizes.append(size)

    def rolling_mean(self) -> list[float] | None:
        return [s / len(self.means) for s in self.means_sum] if self.means else None

    def drift_score(self) -> float | None:
        """Max over channels of |rolling input mean - training mean| / training std."""
        rolling = self.rolling_mean()
        if rolling is None:
            return None
        return max(abs(r - m) / s for r, m, s in zip(rolling, self.info.mean, self.info.std, strict=True))

    def add_feedback(self, labelled: list[tuple[str, int, int]]) -> int:
        """(prediction id, true, predicted) triples; the gauges move once per request.
        Returns how many replaced an earlier label."""
        replaced = sum(self.feedback.add(pid, true, predicted) for pid, true, predicted in labelled)
        for name, value in self.rolling().items():
            if name in self.gauges:
                self.gauges[name].set(value)
        self.window_size.set(len(self.feedback))
        return replaced

    def rolling(self) -> dict:
        return self.feedback.metrics()

    def stats(self) -> dict:
        lat = sorted(self.latencies)
        q = (lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000) if lat else (lambda p: None)
        rolling, drift = self.rolling_mean(), self.drift_score()
        return {"images": self.count, "uptime_s": round(time.monotonic() - self.started, 1),
                "latency_ms": {"p50": q(0.5), "p99": q(0.99)}, "rolling": self.rolling(),
                "drift": {"input_mean": rolling,
                          "training_mean": list(self.info.mean),
                          "score": drift, "warning": bool(drift is not None and drift > DRIFT_WARN),
                          "sizes": collections.Counter(f"{w}x{h}" for w, h in self.sizes).most_common(3)}}
