"""The Lessons page end to end: a teacher's locked link, one click, predict, then reveal."""

from __future__ import annotations

import pytest

from resnet_core import RunStore

from e2e import ARTIFACTS, browser_page, streamlit_server, wait_for_app

pytestmark = pytest.mark.e2e


@pytest.mark.slow  # 25-55 s: CI runs it with the slow checks; the default run stays under 10 min
def test_locked_lesson_link_runs_the_lesson_and_reveals_after_the_prediction(tmp_path):
    runs = tmp_path / "runs"
    env = {"RESNET_WORKBENCH_RUNS": str(runs), "RESNET_WORKBENCH_REFRESH_S": "1"}
    with streamlit_server(env) as url, browser_page(height=2000) as page:
        wait_for_app(page, f"{url}/lessons?lesson=activations&locked=1", "Run this lesson")
        # Locked: no navigation, no lesson picker, no share box.
        assert not page.locator("[data-testid='stSidebar']").is_visible()
        assert page.get_by_text("Lesson", exact=True).count() == 0
        page.get_by_role("button", name="Run this lesson").click()
        page.get_by_text("Queued 3 runs").first.wait_for(timeout=30_000)
        # Nothing is revealed before a prediction is committed.
        assert page.get_by_text("Reveal", exact=True).count() == 0
        page.get_by_text("100x smaller or less").click()
        page.get_by_role("button", name="Lock in my prediction").click()
        page.get_by_text("Your prediction:").wait_for(timeout=30_000)
        # The three runs train one after another (~10 s each on 2 cores); then the answer shows.
        page.get_by_text("You predicted it").wait_for(timeout=240_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(ARTIFACTS / "lesson_activations.png"), full_page=True)
        assert page.get_by_text("Gradient norm of each block at the first step", exact=True).is_visible()
        assert page.locator("[data-testid='stPlotlyChart']").count() >= 2

    lesson_runs = [r for r in RunStore(runs).runs() if r.config["run_name"].startswith("lesson:activations:")]
    assert sorted(r.config["activation"] for r in lesson_runs) == ["relu", "sigmoid", "tanh"]
    assert all(r.status["state"] == "completed" for r in lesson_runs)
    assert all((r.dir / "diagnostics.jsonl").stat().st_size > 0 for r in lesson_runs)


def test_lessons_page_unlocked_offers_every_lesson_a_share_link_and_the_block_drawing(tmp_path):
    env = {"RESNET_WORKBENCH_RUNS": str(tmp_path / "runs")}
    with streamlit_server(env) as url, browser_page(height=1600) as page:
        wait_for_app(page, f"{url}/lessons?lesson=degradation", "The degradation problem")
        assert page.locator("[data-testid='stSidebar']").is_visible()
        share = page.locator("[data-testid='stCode']").inner_text()
        assert share.endswith("/lessons?lesson=degradation&locked=1"), share
        page.locator("[data-testid='stGraphVizChart'] svg").first.wait_for(timeout=30_000)
        assert page.locator("[data-testid='stGraphVizChart'] svg text", has_text="+").count() >= 1
        page.screenshot(path=str(ARTIFACTS / "lesson_degradation.png"), full_page=True)
