"""How far a run has got, as every viewer shows it: step, epoch, ETA and the latest figures.

Read from the run's files only (status.json, config.json, metrics.jsonl), so a run trained by
the CLI, a notebook or the dashboard shows the same numbers. The Train page draws these; the
rule lives here, where it has unit tests, not in the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from resnet_core.i18n import N_, _, duration  # runs.duration: in the reader's language

_QUARTERS = (N_("Run {run} is training."), N_("Run {run} is training: over a quarter done."),
             N_("Run {run} is training: over half done."), N_("Run {run} is training: over three quarters done."))
# The states as the live region says them (status.json keeps the English names: a contract).
_STATES = {"queued": N_("Run {run} is queued."), "running": N_("Run {run} is running."),
           "completed": N_("Run {run} is completed."), "failed": N_("Run {run} is failed."),
           "stopped": N_("Run {run} is stopped."), "pruned": N_("Run {run} is pruned."),
           "interrupted": N_("Run {run} is interrupted."), None: N_("Run {run} is starting.")}


@dataclass(frozen=True)
class Progress:
    state: str | None
    step: int  # optimizer steps done
    total_steps: int  # 0 when not known yet
    epoch: int  # the epoch the latest train line belongs to (1-based; 0 before the first)
    total_epochs: int
    eta_s: float | None  # seconds left at the latest measured speed, while running
    train_loss: float | None
    val_accuracy: float | None
    lr: float | None
    images_per_sec: float | None

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def has_metrics(self) -> bool:
        return self.train_loss is not None

    def text(self) -> str:
        """"epoch 3/30 · step 33/330 · ETA 12 s" (the ETA only while running)."""
        text = _("epoch {epoch}/{epochs} · step {step}/{steps}").format(
            epoch=self.epoch, epochs=self.total_epochs, step=self.step, steps=self.total_steps)
        return text + (_(" · ETA {duration}").format(duration=duration(self.eta_s)) if self.eta_s is not None else "")

    def announcement(self, run_id: str) -> str:
        """The line a screen reader hears while the run's view refreshes itself: it changes
        when the state changes and at each quarter of the steps, never at every refresh
        ("Run X is training: over half done." — the figures stay on the page, where the user
        can read them when they choose). It says "over": "25% done" under a bar at 38% read as
        a text lagging its bar."""
        if self.state == "running" and self.total_steps:
            quarter = min(3, int(self.fraction * 4))
            return _(_QUARTERS[quarter]).format(run=run_id)
        return _(_STATES.get(self.state, "Run {run} is {state}.")).format(run=run_id, state=self.state)


def run_progress(status: dict, config: dict, metrics: pd.DataFrame) -> Progress:
    """Progress of a run from its status, its config.json and its metrics lines."""
    state = status.get("state")
    total = int(config.get("total_steps") or status.get("total_steps") or 0)
    train = metrics[metrics["split"] == "train"] if len(metrics) else metrics
    val = metrics[metrics["split"] == "val"] if len(metrics) else metrics
    last = train.iloc[-1] if len(train) else None
    step = int(last["step"]) if last is not None else int(status.get("step") or 0)
    speed = _number(last, "images_per_sec")
    eta = None
    if state == "running" and speed and total:
        steps_per_s = speed / int(config.get("batch_size") or 128)
        eta = max(0.0, (total - step) / steps_per_s)
    steps_per_epoch = max(1, int(config.get("steps_per_epoch") or 1))
    return Progress(
        state=state, step=step, total_steps=total,
        epoch=int(last["epoch"]) if last is not None else 0,
        total_epochs=max(1, -(-total // steps_per_epoch)),
        eta_s=eta,
        train_loss=_number(last, "loss"),
        val_accuracy=float(val["accuracy"].iloc[-1]) if len(val) else None,
        lr=_number(last, "lr"),
        images_per_sec=speed,
    )


def time_taken(status: dict) -> str | None:
    """For a run that ended: "4 min 51 s from queued to result (4 min 40 s running)", the wait
    a person had (press Train or type the command, get the test accuracy); None before it ends."""
    end = _time(status.get("ended_at"))
    start = _time(status.get("started_at"))
    queued = _time(status.get("queued_at") or status.get("created_at")) or start
    if end is None or start is None:
        return None
    whole, running = (end - queued).total_seconds(), (end - start).total_seconds()
    text = _("{duration} from queued to result").format(duration=duration(whole))
    return text + (_(" ({duration} running)").format(duration=duration(running)) if whole - running >= 1 else "")


def _time(text) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except (TypeError, ValueError):
        return None


def _number(row, key: str) -> float | None:
    if row is None or key not in row or pd.isna(row[key]):
        return None
    return float(row[key])
