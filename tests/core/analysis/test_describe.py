"""The charts' text alternatives (issue 27): one line of words with the numbers that matter."""

from __future__ import annotations

import pandas as pd

from resnet_core import analysis


def _metrics() -> pd.DataFrame:
    return pd.DataFrame({"split": ["train", "val", "train", "val", "test"], "epoch": [1, 1, 2, 2, 2],
                         "step": [10, 10, 20, 20, 20], "loss": [1.5, 1.4, 0.42, 0.5, 0.5],
                         "accuracy": [0.5, 0.61, 0.874, 0.8, 0.79]})


def test_training_curves_say_the_last_values_and_the_best_epoch():
    text = analysis.describe_training_curves(_metrics())
    assert text == ("Loss and accuracy per step, 2 training points to step 20: training loss 0.42, "
                    "training accuracy 87.4%; validation accuracy 80.0% after epoch 2 (best 80.0%, "
                    "epoch 2).")
    assert "no training step" in analysis.describe_training_curves(_metrics().iloc[0:0])
    assert list(analysis.curves_table(_metrics())["split"]) == ["train", "val", "train", "val"]


def test_the_confusion_matrix_says_how_many_are_right_and_the_worst_mistakes():
    confusion = pd.DataFrame([[50, 2, 0], [9, 40, 1], [0, 0, 48]], index=["cat", "dog", "fox"],
                             columns=["cat", "dog", "fox"])
    text = analysis.describe_confusion(confusion)
    assert "138 of 150 on the diagonal (92.0%)" in text
    assert "most frequent mistakes: dog taken for cat 9 times; cat taken for dog 2 times; dog taken for fox 1 time." in text


def test_compared_runs_are_listed_best_first():
    a, b = _metrics(), _metrics().assign(accuracy=lambda m: m.accuracy - 0.1)
    text = analysis.describe_compare_curves({"plain 20": b, "residual 20": a}, "error", "train")
    assert text.startswith("train error (1 - accuracy) per step, one line per run; last values, lowest first: "
                           "residual 20 0.126 at step 20, plain 20 0.226 at step 20")


def test_service_top_k_and_transfer_in_words():
    history = pd.DataFrame({"seconds": [1, 2], "throughput": [100, 300], "p50": [2.0, 2.5], "p99": [9.0, 11.0]})
    assert analysis.describe_service(history) == ("Throughput and latency over 2 s: now 300 images/s, "
                                                  "p50 2.5 ms, p99 11.0 ms (peak 300 images/s).")
    # A service just started: no latency yet (the Deploy page's traceback, issue 38 item 2).
    started = pd.DataFrame([{"seconds": 0.4, "throughput": 0.0, "p50": None, "p99": None}])
    assert analysis.describe_service(started) == "Throughput and latency over time: no requests yet."
    assert analysis.describe_top_k([("7", 0.9), ("1", 0.05)]) == "Top predictions: 7 90.0%, 1 5.0%."
    rows = pd.DataFrame({"start": ["scratch", "scratch", "digits 0-4"], "k": [5, 20, 5],
                         "test accuracy": [0.8, 0.9, 0.7]})
    assert analysis.describe_transfer(rows) == ("Test accuracy against training images per class; "
                                                "digits 0-4: k=5 70.0%; scratch: k=5 80.0%, k=20 90.0%.")


def _diag() -> pd.DataFrame:
    """Two logged steps of three blocks: the gradient shrinks towards the input."""
    return pd.DataFrame({"step": [1, 1, 1, 10, 10, 10],
                         "block": ["layer1.0", "layer2.0", "layer3.0"] * 2,
                         "grad_norm": [1e-4, 1e-2, 1.0, 2e-3, 3e-2, 0.5],
                         "branch_ratio": [0.1, 0.2, 0.3, 0.15, 0.25, 0.35]})


def test_the_gradient_profile_and_diagnostics_in_words():
    text = analysis.describe_gradient_profile({"sigmoid": _diag(), "empty": _diag().iloc[0:0]})
    assert text == ("Gradient norm of each block at the first step, input to classifier, log scale: "
                    "sigmoid: 0.0001 at the first block, 1 at the last (1e+04 times smaller at the input).")
    growing = _diag().assign(grad_norm=[0.9, 0.5, 0.3, 1, 1, 1])
    assert "tanh: 0.9 at the first block, 0.3 at the last (3 times larger at the input)" in (
        analysis.describe_gradient_profile({"tanh": growing}))
    assert "no diagnostics" in analysis.describe_gradient_profile({})
    assert analysis.describe_diagnostics(_diag(), "branch_ratio") == (
        "Residual branch / shortcut norm of each block over the steps (3 blocks); at step 10 the "
        "smallest is layer1.0 (0.15) and the largest layer3.0 (0.35).")
    assert "nothing logged yet" in analysis.describe_diagnostics(_diag().iloc[0:0])


def test_feature_maps_and_the_lr_finder_in_words():
    import numpy as np

    maps = {"stem": np.zeros((16, 32, 32)), "layer3": np.zeros((64, 8, 8))}
    assert analysis.describe_feature_maps(maps).endswith("stem 32x32 (16 channels), layer3 8x8 (64 channels).")
    sweep = pd.DataFrame({"lr": [1e-5, 1e-3, 1e-1, 1.0], "loss": [2.3, 1.0, 0.6, 5.0],
                          "smoothed_loss": [2.3, 1.2, 0.7, 3.0]})
    assert analysis.describe_lr_find(sweep, 0.02) == (
        "Training loss against the learning rate, 1e-05 to 1 (log scale): the smoothed loss is "
        "lowest, 0.7, at 0.1; the suggestion, 0.02, is where it falls fastest.")


def test_live_announcements_change_at_milestones_not_at_every_refresh():
    """pages/announce.py's live region: at most five texts however often the view refreshes."""
    from resnet_core import runs

    def progress(step: int, state: str = "running"):
        status = {"state": state, "step": step}
        return runs.run_progress(status, {"total_steps": 100, "steps_per_epoch": 10}, pd.DataFrame())

    texts = [progress(step).announcement("r1") for step in range(0, 100)]
    # Never a figure behind the bar beside it (issue 38, item 10): "over" a quarter, a half.
    assert list(dict.fromkeys(texts)) == ["Run r1 is training.", "Run r1 is training: over a quarter done.",
                                          "Run r1 is training: over half done.",
                                          "Run r1 is training: over three quarters done."]
    assert texts[38] == "Run r1 is training: over a quarter done."  # the bar shows 38%
    assert progress(100, "completed").announcement("r1") == "Run r1 is completed."
    assert progress(0, "queued").announcement("r1") == "Run r1 is queued."
    seen = {analysis.announce_progress("Sweep s", done, 32, unit="trials") for done in range(33)}
    assert seen == {"Sweep s: 0% of 32 trials done.", "Sweep s: 25% of 32 trials done.",
                    "Sweep s: 50% of 32 trials done.", "Sweep s: 75% of 32 trials done.",
                    "Sweep s: all 32 trials done."}
    assert analysis.announce_progress("Lesson runs", 0, 0) == "Lesson runs: nothing to do yet."


def test_an_attribution_map_says_what_its_numbers_mean():
    """Issue 38, item 17: Explain showed "convergence delta 1.2e-03" unexplained, and a 4x4
    Grad-CAM at the last stage of the fast recipe looked like a broken picture."""
    notes = analysis.attribution_notes({"convergence_delta": 0.0012, "stage": "layer3", "cells": (4, 4)})
    assert notes[0].startswith("convergence delta 1.20e-03: how far the map's sum is from the change")
    assert notes[1] == "at layer3, a 4x4 grid enlarged to the image"
