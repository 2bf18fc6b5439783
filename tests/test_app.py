"""The dashboard in a real browser: `streamlit run app.py` + headless Chromium."""

import pytest

from e2e import browser_page, streamlit_server, wait_for_app

pytestmark = pytest.mark.e2e


def test_home_page_shows_device_and_the_runs_in_the_runs_folder(short_run, tmp_path):
    env = {"RESNET_WORKBENCH_RUNS": str(short_run.dir.parent)}
    with streamlit_server(env) as url, browser_page() as page:
        wait_for_app(page, url, "Training device")
        page.wait_for_selector("[data-testid='stDataFrame']")
        body = page.inner_text("body")
        assert "Training device" in body and "CPU" in body
        assert "Latest runs" in body
        assert str(short_run.dir.parent) in body
        page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
        assert "Traceback" not in body and "Error" not in body
