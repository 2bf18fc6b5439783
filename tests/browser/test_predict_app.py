"""Predict in a real browser: draw with the mouse, see the prediction, clear; pick a test image."""

from __future__ import annotations

import pytest

from e2e import ARTIFACTS, browser_page, streamlit_server, wait_for_app

pytestmark = pytest.mark.e2e


def test_draw_a_stroke_see_the_prediction_and_clear_it(short_run):
    env = {"RESNET_WORKBENCH_RUNS": str(short_run.dir.parent)}
    with streamlit_server(env) as url, browser_page(height=1600) as page:
        wait_for_app(page, f"{url}/predict", "Download the model")
        page.get_by_text("Draw", exact=True).click()
        canvas = page.locator("canvas").first
        canvas.wait_for(timeout=30_000)
        page.get_by_text("Draw on the black square").wait_for(timeout=30_000)
        box = canvas.bounding_box()
        x, top = box["x"] + box["width"] / 2, box["y"] + 0.15 * box["height"]
        page.mouse.move(x, top)
        page.mouse.down()
        for i in range(1, 21):  # a vertical stroke down 70% of the canvas
            page.mouse.move(x, top + i * 0.035 * box["height"])
        page.mouse.up()
        page.get_by_text("Prediction", exact=True).wait_for(timeout=30_000)
        page.get_by_text("As the model sees it: 8x8 grayscale").wait_for()
        page.get_by_text("Saliency for").wait_for()
        page.screenshot(path=str(ARTIFACTS / "predict_draw.png"))
        page.get_by_role("button", name="Clear").click()
        # The hint stays beside the canvas; the prediction goes with the drawing.
        page.get_by_text("Prediction", exact=True).wait_for(state="detached", timeout=30_000)
        page.get_by_text("Draw on the black square").wait_for(timeout=30_000)


def test_pick_a_test_image_shows_a_prediction_without_a_file(short_run):
    env = {"RESNET_WORKBENCH_RUNS": str(short_run.dir.parent)}
    with streamlit_server(env) as url, browser_page(height=1600) as page:
        wait_for_app(page, f"{url}/predict", "Download the model")
        page.get_by_text("Pick a test image", exact=True).click()
        page.get_by_text("Test image #0, true class:").wait_for(timeout=30_000)
        page.get_by_text("Prediction", exact=True).wait_for()
        page.get_by_role("button", name="Random").click()
        page.get_by_text("true class:").wait_for(timeout=30_000)
