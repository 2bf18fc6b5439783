"""The progress and ETA every viewer of a run shows (resnet_core/progress.py)."""

import pandas as pd
import pytest

from resnet_core.runs.progress import run_progress


def _metrics(*rows):
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["split", "epoch", "step"])


def test_eta_from_the_latest_speed_while_running():
    config = {"total_steps": 300, "steps_per_epoch": 10, "batch_size": 100}
    metrics = _metrics({"split": "train", "epoch": 3, "step": 30, "loss": 0.5, "accuracy": 0.8,
                        "lr": 0.1, "images_per_sec": 1000.0},
                       {"split": "val", "epoch": 3, "step": 30, "loss": 0.4, "accuracy": 0.85})
    p = run_progress({"state": "running"}, config, metrics)
    assert (p.step, p.total_steps, p.epoch, p.total_epochs) == (30, 300, 3, 30)
    assert p.eta_s == pytest.approx(27.0)  # 270 steps at 10 steps/s
    assert p.fraction == pytest.approx(0.1)
    assert p.val_accuracy == 0.85 and p.train_loss == 0.5
    assert p.text() == "epoch 3/30 · step 30/300 · ETA 27 s"


def test_no_eta_once_ended_and_no_figures_before_the_first_line():
    config = {"total_steps": 300, "steps_per_epoch": 10, "batch_size": 100}
    line = {"split": "train", "epoch": 30, "step": 300, "loss": 0.1, "accuracy": 0.99,
            "lr": 0.0, "images_per_sec": 900.0}
    done = run_progress({"state": "completed"}, config, _metrics(line))
    assert done.eta_s is None and done.fraction == 1.0 and "ETA" not in done.text()
    queued = run_progress({"state": "queued", "step": 0}, {}, _metrics())
    assert not queued.has_metrics and queued.total_steps == 0 and queued.fraction == 0.0


def test_time_taken_is_from_queued_to_result_with_the_running_part():
    from resnet_core.runs.progress import time_taken

    status = {"queued_at": "2026-01-01T10:00:00+00:00", "started_at": "2026-01-01T10:00:09+00:00",
              "ended_at": "2026-01-01T10:04:51+00:00"}
    assert time_taken(status) == "4 min 51 s from queued to result (4 min 42 s running)"
    assert time_taken({**status, "queued_at": None, "created_at": status["started_at"]}) == \
        "4 min 42 s from queued to result"
    assert time_taken({"started_at": status["started_at"]}) is None  # still running
