"""Drawings become the images the training data would have had (resnet_core/drawing.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from resnet_core import TrainConfig, load_dataset, train
from resnet_core.data.dataset import DatasetInfo
from resnet_core.data.drawing import (
    CANVAS,
    drawing_to_image,
    image_to_strokes,
    pen_width,
    render_strokes,
)
from resnet_core.serving.predictor import Predictor

# The module fixtures below are made once: its tests run on one worker (.ci/run, loadgroup).
pytestmark = pytest.mark.xdist_group("test_drawing")

MNIST = DatasetInfo("mnist", [str(i) for i in range(10)], 1, 28, [0.1307], [0.3081], False, 2)


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    run = train(TrainConfig(dataset="digits", arch="resnet20", epochs=10, probe_snapshots=0,
                            runs_dir=str(tmp_path_factory.mktemp("runs"))), progress=False)
    return Predictor(run.checkpoint("best"))


def test_a_test_image_drawn_as_strokes_is_classified_as_the_image(digits_model):
    """Copy each test image onto the canvas cell by cell, as a person would, and prepare the
    drawing like any drawing: the model's answer stays the same for most images."""
    test = load_dataset("digits").test
    same = 0
    for image in test.images[:100]:
        strokes, pen = image_to_strokes(image)
        drawn = drawing_to_image(strokes, digits_model.info, width=pen)
        assert drawn.shape == (1, 8, 8) and drawn.dtype == torch.uint8
        a = digits_model.predict_images(image[None], top_k=1)[0][0][0]
        b = digits_model.predict_images(drawn[None], top_k=1)[0][0][0]
        same += a == b
    # Most, not a figure tied to one float order: seeds 0-3 kept 78, 75, 80, 78 of 100 with one
    # thread and 88, 79, 82, 80 with two on one CPU (benchmarks/RESULTS.md, "CI's wall time,
    # twelfth"); the test once asked for 80, which seed 0 with two threads cleared.
    assert same >= 70, f"{same}/100 drawn test images kept their prediction"


def test_digits_are_counted_in_4x4_blocks_of_a_32x32_bitmap(digits_model):
    stroke = [[(0.5, 0.15), (0.5, 0.85)]]  # a vertical line: a "1"
    image = drawing_to_image(stroke, digits_model.info)[0]
    counts = image.numpy().astype(float) * 16 / 255
    assert np.allclose(counts, np.rint(counts), atol=0.05)  # 0..16 counts, scaled as data.py does
    assert image[:, :2].sum() == 0 and image[:, -2:].sum() == 0  # centred, nothing at the sides
    assert (image[:, 3:5] > 0).all()  # the bounding box fills the height
    assert digits_model.predict_images(image[None], top_k=1)[0][0][0] == "1"


def test_mnist_drawings_fit_20x20_and_are_centred_by_their_centre_of_mass():
    # An "L" drawn small in the top left corner of the canvas.
    image = drawing_to_image([[(0.1, 0.1), (0.1, 0.4), (0.3, 0.4)]], MNIST)[0].numpy()
    ys, xs = np.nonzero(image)
    assert ys.max() - ys.min() + 1 <= 20 and xs.max() - xs.min() + 1 <= 20
    assert max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 >= 19  # scaled up to the box
    mass = image.astype(float)
    cy = (np.indices(image.shape)[0] * mass).sum() / mass.sum()
    cx = (np.indices(image.shape)[1] * mass).sum() / mass.sum()
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


def test_an_empty_canvas_is_a_black_image_and_pens_suit_the_input():
    assert drawing_to_image([], MNIST).sum() == 0
    digits = load_dataset("digits").info
    assert pen_width(digits) > pen_width(MNIST) > 4  # optdigits' strokes are thicker
    ink = np.asarray(render_strokes([[(0.5, 0.5)]], width=30))
    assert ink.shape == (CANVAS, CANVAS) and 25 <= (ink[CANVAS // 2] > 0).sum() <= 32  # a dot
    rgb = DatasetInfo("folder", ["a", "b"], 3, 64, [0.5] * 3, [0.25] * 3, True, 8)
    assert drawing_to_image([[(0.2, 0.2), (0.8, 0.8)]], rgb).shape == (3, 64, 64)


def test_a_drawing_keeps_at_most_max_points_and_only_points():
    """Issue 31 item 11: 300,000 points (4.5 MiB) took ~10 s of server CPU a rerun."""
    import random

    from resnet_core.data.drawing import MAX_POINTS, clean_strokes

    flood = [[[random.random(), random.random()] for _ in range(1000)] for _ in range(300)]
    kept = clean_strokes(flood)
    assert sum(map(len, kept)) == MAX_POINTS and kept[0] == [tuple(p) for p in flood[0]]
    junk = [[[0.5, 0.5], "x", [1, 2, 3], [float("nan"), 0], [2.0, -1.0]], "not a stroke", []]
    assert clean_strokes(junk) == [[(0.5, 0.5), (1.0, 0.0)]]
    assert clean_strokes({"strokes": 1}) == []
    info = load_dataset("digits").info
    assert drawing_to_image(flood, info).shape == (1, 8, 8)  # drawn from the first MAX_POINTS
