"""The Sweep page in a real browser: define a 4-trial search, watch it finish, open the best run."""

from __future__ import annotations

import json

import pytest

from resnet_core.sweeps.study import list_sweeps

from e2e import ARTIFACTS, browser_page, choose, streamlit_server, wait_for_app

pytestmark = pytest.mark.e2e


def _set_number(page, label: str, value: int) -> None:
    box = page.locator(f"input[aria-label='{label}']")
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_function(f"() => document.querySelector(\"input[aria-label='{label}']\").value == '{value}'")


@pytest.mark.slow  # about a minute: CI runs it with the slow checks
def test_define_a_search_watch_it_finish_and_open_the_best_run(tmp_path):
    runs = tmp_path / "runs"
    env = {"RESNET_WORKBENCH_RUNS": str(runs), "RESNET_WORKBENCH_DATA": str(tmp_path / "data"),
           "RESNET_WORKBENCH_WARM_WORKER": "1"}
    with streamlit_server(env) as url, browser_page(height=2600) as page:
        wait_for_app(page, f"{url}/sweep", "Search this")
        _set_number(page, "Epochs per trial", 3)
        _set_number(page, "Trials", 4)
        choose(page, "Architecture", "resnet8")
        page.get_by_text("4 trials of at most 3 epochs: lr=log:0.001:1").wait_for(timeout=30_000)
        page.get_by_role("button", name="Start sweep").click()
        page.get_by_text("4 of 4 trials finished").wait_for(timeout=240_000)
        page.get_by_text("Parameters of every finished trial").first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "sweep_page.png"))

        (sweep,) = list_sweeps(runs)
        info = json.loads(sweep.file.read_text())
        assert info["state"] == "completed" and info["config"]["trials"] == 4
        best = info["best"]["run_id"]
        page.get_by_role("link", name=f"Open the best run (trial {info['best']['trial']})").click()
        page.wait_for_url(f"**/evaluate?run={best}", timeout=30_000)
        page.get_by_text("Macro precision").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "sweep_best_run.png"))
        assert best in page.locator("[data-testid='stMain'] [data-testid='stSelectbox']").first.inner_html()  # the selected run
