"""Accessibility (issue 27): every page of the app run through axe-core with the WCAG 2.1 A/AA
rules in Debian's Chromium; no serious or critical violation of this project's own making.

axe-core comes inside the axe-playwright-python wheel, so this runs offline. A violation
that comes from Streamlit's own markup is listed in ``STREAMLIT`` by rule id with why, so the
list only shrinks; every other serious or critical violation fails the test. The counts by
rule go to tests/artifacts/axe_report.json.
"""

from __future__ import annotations

import json
import shutil

import pytest

from e2e import ARTIFACTS, browser_page, streamlit_server, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SERIOUS = ("serious", "critical")
# Streamlit's own markup, not ours (rule id -> why it is Streamlit's). Only ever shrink this.
STREAMLIT: dict[str, str] = {
    "list": "the sidebar's page navigation (st.navigation with sections): a <ul> whose "
            "children are Streamlit's section <div>s, not <li>s",
    "listitem": "the same navigation's <li>s sit inside those <div>s, not directly in the <ul>",
}
# Ours, still open (issue 27), by rule id: each must go, and nothing may join it.
OPEN: dict[str, str] = {}

# The single-user app's pages, each with the text that says it has rendered.
PAGES = {"": "Quick start", "train": "Dataset", "sweep": "New sweep", "runs": "Runs",
         "evaluate": "Confusion matrix", "explain": "Explain", "predict": "Predict",
         "deploy": "Deploy", "lessons": "Lessons"}


def audit(page) -> list[dict]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA},
                                      "resultTypes": ["violations"]})
    return [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"]),
             "first": v["nodes"][0]["target"], "help": v["help"]}
            for v in result.response["violations"] if v["impact"] in SERIOUS]


def test_every_page_has_no_serious_violation_of_our_own(short_run, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(short_run.dir, runs / short_run.id)
    env = {"RESNET_WORKBENCH_RUNS": str(runs), "RESNET_WORKBENCH_DATA": str(tmp_path / "data")}
    found = {}
    with streamlit_server(env) as url, browser_page(height=1800) as page:
        for path, text in PAGES.items():
            wait_for_app(page, f"{url}/{path}", text)
            page.wait_for_timeout(1500)  # charts and images drawn
            found[path or "home"] = audit(page)
    report = {name: [{k: v[k] for k in ("id", "impact", "nodes", "first")} for v in violations]
              for name, violations in found.items()}
    (ARTIFACTS / "axe_report.json").write_text(json.dumps(report, indent=1))
    ours = {name: [(v["id"], v["help"], v["first"]) for v in violations
                   if v["id"] not in STREAMLIT and v["id"] not in OPEN]
            for name, violations in found.items()}
    assert {name: v for name, v in ours.items() if v} == {}
