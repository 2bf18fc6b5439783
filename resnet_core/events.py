"""Training events: a small base class of do-nothing hooks, and the progress bar built on it.

In the spirit of Lightning's callbacks, cut to the eight events this project needs. The run
writer, the progress bar and the dashboard's job all listen through this interface; a
callback asks the trainer to stop by setting ``state.should_stop``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm


@dataclass
class TrainState:
    """What the trainer shares with callbacks. Read it; only ``should_stop`` is for writing."""

    run_dir: Path
    total_steps: int
    steps_per_epoch: int
    total_epochs: int  # epochs the run will take (the last may be partial under max_steps)
    epoch: int = 0  # completed epochs
    step: int = 0  # completed optimizer steps
    best_val_accuracy: float | None = None
    model: Any = None  # the nn.Module being trained (for diagnostics; do not replace it)
    should_stop: bool = False  # set by a callback (or a STOP file / signal) to end after this step
    stop_reason: str = ""
    extra: dict = field(default_factory=dict)


class Callback:
    """Override any of these hooks; each is called in the trainer's thread/process, on rank 0
    only under torchrun. The trainer calls them in this order: on_train_start, then per epoch
    on_epoch_start, on_step_end (every step), on_eval_end ("val"), on_checkpoint,
    on_epoch_end; at the end on_eval_end ("test") and on_train_end, or on_exception."""

    def on_train_start(self, state: TrainState) -> None:
        """Called when training begins (or resumes), after setup and before the first step."""

    def on_epoch_start(self, state: TrainState) -> None:
        """Called when an epoch begins (also mid-epoch, when a resumed run starts there)."""

    def on_step_end(self, state: TrainState, logs: dict | None) -> None:
        """Called after every optimizer step. ``logs`` is a train metrics line every
        ``log_every`` steps (and at an epoch's end), else None."""

    def on_eval_end(self, state: TrainState, split: str, logs: dict) -> None:
        """Called when an evaluation has finished: "val" after each epoch, "test" at the end."""

    def on_epoch_end(self, state: TrainState, logs: dict) -> None:
        """Called when an epoch has finished, after validation and its checkpoints."""

    def on_checkpoint(self, state: TrainState, path: Path) -> None:
        """Called when a checkpoint or weight snapshot is saved to ``path``: it is written in
        the background and on disk before the next metrics line or status change."""

    def on_train_end(self, state: TrainState, outcome: str) -> None:
        """Called when training ends normally; ``outcome`` is completed or stopped."""

    def on_exception(self, state: TrainState, error: BaseException) -> None:
        """Called when training ends with an error (a failure, Ctrl-C); it is raised after."""


class ProgressBar(Callback):
    """tqdm over optimizer steps: a widget in Jupyter, text on a terminal (tqdm.auto)."""

    def __init__(self, **tqdm_kwargs) -> None:
        self.kwargs = {"unit": "step", "dynamic_ncols": True, **tqdm_kwargs}
        self.bar: tqdm | None = None

    def on_train_start(self, state: TrainState) -> None:
        self.bar = tqdm(total=state.total_steps, initial=state.step, **self.kwargs)
        self.bar.set_description(f"epoch {state.epoch + 1}/{state.total_epochs}")

    def on_epoch_start(self, state: TrainState) -> None:
        if self.bar is not None:
            self.bar.set_description(f"epoch {state.epoch + 1}/{state.total_epochs}")

    def on_step_end(self, state: TrainState, logs: dict | None) -> None:
        if self.bar is None:
            return
        self.bar.update(state.step - self.bar.n)
        if logs is not None:
            self.bar.set_postfix(loss=f"{logs['loss']:.3f}", acc=f"{logs['accuracy']:.3f}",
                                 refresh=False)

    def on_eval_end(self, state: TrainState, split: str, logs: dict) -> None:
        if self.bar is not None and split == "val":
            self.bar.set_postfix(val_acc=f"{logs['accuracy']:.4f}", refresh=True)

    def on_train_end(self, state: TrainState, outcome: str) -> None:
        self._close()

    def on_exception(self, state: TrainState, error: BaseException) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
