"""TensorBoard event files in the run folder, written as the run trains (issue 28).

``tensorboard --logdir <runs folder>`` then shows every run by its id, also while it trains.
The scalars are the metrics.jsonl lines themselves (the same dicts the RunWriter appends, so
the two agree by construction): ``<split>/<name>`` at the line's step for loss, accuracy,
lr, images/s and the eval summaries. At the end the hyperparameters and the final test
metrics go into the *same* event file (``add_hparams`` would open a separate sub-run, where
TensorBoard's HParams tab cannot line them up with the curves), and the test confusion
matrix as an image.

Only rank 0 writes. A resumed run appends to the same folder with ``purge_step`` at the
checkpoint's step, so TensorBoard drops what the killed run logged past it, as metrics.jsonl's
rewind does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from resnet_core.events import Callback, TrainState
from resnet_core.runs.folder import TENSORBOARD_DIR, Run

TB_DIR = TENSORBOARD_DIR  # <run>/tensorboard/events.out.tfevents.*
SCALARS = ("loss", "accuracy", "lr", "images_per_sec", "macro_f1", "top5_accuracy")
HPARAMS = ("dataset", "arch", "optimizer", "lr", "batch_size", "epochs", "max_steps", "weight_decay",
           "schedule", "norm", "activation", "residual", "augment", "label_smoothing", "seed")


class TensorBoardWriter(Callback):
    """Mirrors a run's metric lines into TensorBoard event files in ``<run>/tensorboard/``."""

    def __init__(self, run_dir: Path, config: dict) -> None:
        self.dir = Path(run_dir) / TB_DIR
        self.config = config
        self.writer = None

    def on_train_start(self, state: TrainState) -> None:
        """Called when training begins (or resumes: events past the checkpoint are purged)."""
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(self.dir), purge_step=state.step or None,
                                    flush_secs=10)

    def on_step_end(self, state: TrainState, logs: dict | None) -> None:
        """Called after each optimizer step; ``logs`` is the metrics line when one is written."""
        if logs is not None:
            self.log(logs)

    def on_eval_end(self, state: TrainState, split: str, logs: dict) -> None:
        """Called after an evaluation; ``logs`` is its metrics line."""
        self.log(logs)

    def log(self, record: dict) -> None:
        if self.writer is None:
            return
        split, step = record.get("split", "train"), int(record.get("step", 0))
        for name in SCALARS:
            value = record.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.writer.add_scalar(f"{split}/{name}", value, step)

    def on_train_end(self, state: TrainState, outcome: str) -> None:
        """Called when training ends: the hyperparameters with the final test metrics, the
        confusion matrix, and the file closed."""
        if self.writer is None:
            return
        try:
            if outcome == "completed":
                self.write_hparams(state)
                self.write_confusion(state)
        finally:
            self.writer.close()
            self.writer = None

    def write_hparams(self, state: TrainState) -> None:
        from torch.utils.tensorboard.summary import hparams

        from resnet_core.runs.jsonl import read_json

        summary_path = Run(self.dir.parent).eval_file("test", "summary")
        test = read_json(summary_path) if summary_path.exists() else {}
        metrics = {f"hparam/test_{k}": float(v) for k, v in test.items()
                   if k in ("accuracy", "macro_f1", "loss") and isinstance(v, int | float)}
        params = {k: (v if isinstance(v, int | float | str | bool) else str(v))
                  for k, v in self.config.items() if k in HPARAMS and v is not None}
        experiment, start, end = hparams(params, metrics)
        file_writer = self.writer._get_file_writer()  # the scalars' own file, not a sub-run
        for summary in (experiment, start, end):
            file_writer.add_summary(summary)
        for name, value in metrics.items():
            self.writer.add_scalar(name, value, state.step)

    def write_confusion(self, state: TrainState) -> None:
        """The test confusion matrix as an image (rows true, columns predicted; counts)."""
        run = Run(self.dir.parent)
        if not run.eval_file("test", "confusion").exists():
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        counts = run.confusion("test")
        n = len(counts)
        fig, ax = plt.subplots(figsize=(1.5 + 0.45 * n, 1.2 + 0.45 * n), dpi=100)
        ax.imshow(counts.to_numpy(), cmap="Blues")
        ax.set_xticks(range(n), [str(c) for c in counts.columns], rotation=90 if n > 10 else 0)
        ax.set_yticks(range(n), [str(c) for c in counts.index])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        if n <= 20:
            top = counts.to_numpy().max() or 1
            for (i, j), value in np.ndenumerate(counts.to_numpy()):
                ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                        color="white" if value > top / 2 else "black")
        fig.tight_layout()
        self.writer.add_figure("test/confusion_matrix", fig, state.step)  # closes the figure
