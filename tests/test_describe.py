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
    assert analysis.describe_top_k([("7", 0.9), ("1", 0.05)]) == "Top predictions: 7 90.0%, 1 5.0%."
    rows = pd.DataFrame({"start": ["scratch", "scratch", "digits 0-4"], "k": [5, 20, 5],
                         "test accuracy": [0.8, 0.9, 0.7]})
    assert analysis.describe_transfer(rows) == ("Test accuracy against training images per class; "
                                                "digits 0-4: k=5 70.0%; scratch: k=5 80.0%, k=20 90.0%.")
