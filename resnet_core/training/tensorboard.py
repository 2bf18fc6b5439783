"""TensorBoard event files in the run folder, written as the run trains (issue 28).

``tensorboard --logdir <runs folder>`` then shows every run by its id, also while it trains.
The scalars are the metrics.jsonl lines themselves (the same dicts the RunWriter appends, so
the two agree by construction): ``<split>/<name>`` at the line's step for loss, accuracy,
lr, images/s and the eval summaries. At the end the hyperparameters and the final test
metrics go into the *same* event file (``add_hparams`` would open a separate sub-run, where
TensorBoard's HParams tab cannot line them up with the curves), and the test confusion
matrix as an image. The model graph is traced once, when a run starts (not on resume): in
eval mode, so batch norm's running statistics are untouched and the run trains the same
weights with TensorBoard on or off.

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
SCALARS = ("loss", "accuracy", "plain_accuracy", "lr", "images_per_sec", "macro_f1", "top5_accuracy")
HPARAMS = ("dataset", "arch", "optimizer", "lr", "batch_size", "epochs", "max_steps", "weight_decay",
           "schedule", "norm", "activation", "residual", "augment", "erasing", "ema", "tta",
           "label_smoothing", "seed")


def scalars_of(record: dict) -> dict[str, float]:
    """A metrics.jsonl line as TensorBoard's (and MLflow's) scalars: {"<split>/<name>": value}."""
    split = record.get("split", "train")
    return {f"{split}/{name}": float(record[name]) for name in SCALARS
            if isinstance(record.get(name), int | float) and not isinstance(record.get(name), bool)}


class TensorBoardWriter(Callback):
    """Mirrors a run's metric lines into TensorBoard event files in ``<run>/tensorboard/``."""

    def __init__(self, run_dir: Path, config: dict) -> None:
        self.run = Run(Path(run_dir))
        self.dir = self.run.dir / TB_DIR
        self.config = config
        self.writer = None

    def on_train_start(self, state: TrainState) -> None:
        """Called when training begins (or resumes: events past the checkpoint are purged)."""
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(self.dir), purge_step=state.step or None,
                                    flush_secs=10)
        if state.step == 0 and state.model is not None:
            self.write_graph(state.model)

    def write_graph(self, model) -> None:
        """The model graph (a trace of one forward on zeros, in eval mode); skipped with a
        warning where tracing fails (a compiled or graph-captured model)."""
        import warnings

        import torch

        shape = self.run.config.get("input_shape")  # config.json: written by now
        if not shape:
            return
        param = next(model.parameters())
        was_training = model.training
        model.eval()  # batch norm's running statistics stay as they are
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the tracer's own warnings
                self.writer.add_graph(model, torch.zeros(1, *shape, device=param.device, dtype=param.dtype))
        except Exception as e:  # the graph is a nicety: never fail a run for it
            warnings.warn(f"TensorBoard: the model graph was skipped ({type(e).__name__}: {e})", stacklevel=2)
        finally:
            model.train(was_training)

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
        step = int(record.get("step", 0))
        for tag, value in scalars_of(record).items():
            self.writer.add_scalar(tag, value, step)

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

        test = self.run.summary("test")  # {} without a test evaluation
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
        if not self.run.eval_file("test", "confusion").exists():
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        counts = self.run.confusion("test")
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
