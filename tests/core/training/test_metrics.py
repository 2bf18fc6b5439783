import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from resnet_core.training.metrics import classification_report


@pytest.mark.parametrize("seed", range(5))
def test_metrics_agree_with_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    k = 7
    y_true = rng.integers(0, k - 1, 200)  # class 6 never occurs: recall 0 / zero division
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, k, 200))
    y_pred[y_pred == 3] = 2  # class 3 never predicted: precision zero division
    report = classification_report(torch.from_numpy(y_true), torch.from_numpy(y_pred),
                                   [f"c{i}" for i in range(k)])
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=range(k), zero_division=0)
    np.testing.assert_allclose(report.precision.numpy(), p)
    np.testing.assert_allclose(report.recall.numpy(), r)
    np.testing.assert_allclose(report.f1.numpy(), f)
    np.testing.assert_array_equal(report.support.numpy(), s)
    np.testing.assert_array_equal(report.confusion.numpy(), confusion_matrix(y_true, y_pred, labels=range(k)))
    summary = report.summary()
    for avg in ("macro", "weighted"):
        ref = precision_recall_fscore_support(y_true, y_pred, labels=range(k), average=avg, zero_division=0)
        assert summary[f"{avg}_f1"] == pytest.approx(ref[2])
    assert summary["macro_precision"] == pytest.approx(p.mean())
    assert summary["accuracy"] == pytest.approx((y_true == y_pred).mean())


def test_top5_only_above_five_classes():
    logits = torch.tensor([[0.0, 1, 2, 3, 4, 5, 6], [6.0, 5, 4, 3, 2, 1, 0]])
    y = torch.tensor([2, 6])  # first: 2 is in the top 5; second: 6 ranks last
    report = classification_report(y, logits.argmax(1), [str(i) for i in range(7)], logits)
    assert report.top5_accuracy == 0.5
    small = classification_report(y % 3, y % 3, ["a", "b", "c"], torch.randn(2, 3))
    assert small.top5_accuracy is None and "top5_accuracy" not in small.summary()
