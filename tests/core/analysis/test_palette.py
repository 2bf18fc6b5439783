"""Every chart's colours: readable on the white page and told apart with any common colour-vision
deficiency (issue 27); the chart builders use them."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from resnet_core import analysis
from resnet_core.analysis.palette import DEFICIENCIES, PALETTE, contrast_ratio, delta_e

MIN_CONTRAST = 3.0  # WCAG 2.1, 1.4.11: graphical objects needed to understand a chart
MIN_DELTA_E = 12.0  # CIE76 in CIELAB: clearly different side by side


def test_every_colour_has_at_least_3_to_1_contrast_on_white():
    assert {c: round(contrast_ratio(c), 2) for c in PALETTE if contrast_ratio(c) < MIN_CONTRAST} == {}


@pytest.mark.parametrize("deficiency", [None, *DEFICIENCIES])
def test_every_two_colours_differ_as_people_with_each_deficiency_see_them(deficiency):
    close = {(a, b): round(delta_e(a, b, deficiency), 1)
             for a, b in itertools.combinations(PALETTE, 2) if delta_e(a, b, deficiency) < MIN_DELTA_E}
    assert close == {}


def test_the_contrast_and_distance_formulas_give_the_known_values():
    assert contrast_ratio("#000000") == pytest.approx(21.0)
    assert contrast_ratio("#767676") == pytest.approx(4.54, abs=0.01)  # WCAG's grey at 4.5:1
    # Red and green, far apart with normal vision, nearly one colour to a deuteranope.
    assert delta_e("#FF0000", "#00B000") > 80
    assert delta_e("#FF0000", "#00B000", "deuteranopia") < delta_e("#FF0000", "#00B000") / 2


def test_the_chart_builders_draw_with_the_palette():
    metrics = pd.DataFrame({"split": ["train", "val"] * 3, "step": [1, 1, 2, 2, 3, 3],
                            "loss": [2.0, 2.1, 1.0, 1.2, 0.5, 0.7],
                            "accuracy": [0.2, 0.2, 0.6, 0.5, 0.8, 0.7]})
    figures = [analysis.training_curves(metrics),
               analysis.compare_curves({"a": metrics, "b": metrics}),
               analysis.lesson_curves({"plain 20": metrics, "residual 20": metrics})]
    for fig in figures:
        assert list(fig.layout.colorway) == list(PALETTE)
    # Where two runs share a chart, colour is never the only difference: plain runs are dashed.
    dashes = {t.name: t.line.dash for t in figures[2].data}
    assert dashes == {"plain 20": "dash", "residual 20": "solid"}
