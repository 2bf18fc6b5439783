"""Issue 40: a run's report, one HTML file a student hands in. Downloaded from the Runs page
as a person does, and written by `python -m resnet_core report`; opened in Chromium with the
network cut off: no request leaves the page, its figures are the run's files, axe is clean."""

from __future__ import annotations

import json

import pytest

from e2e import ARTIFACTS, audit, chromium, streamlit_server, wait_for_app
from helpers import run_cli

pytestmark = pytest.mark.e2e

# Each Plotly figure's traces as the page drew them (Plotly keeps them on the plot's element;
# _fullData holds the arrays decoded from the file's base64).
FIGURES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(p => p._fullData.map(
    t => ({type: t.type, name: t.name ?? null, x: t.x ? Array.from(t.x) : null,
           y: t.y ? Array.from(t.y) : null, z: t.z ? Array.from(t.z, r => Array.from(r)) : null})))"""
TABLES = """() => [...document.querySelectorAll('table')].map(t => ({caption: t.caption?.innerText,
    rows: [...t.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.innerText))}))"""


def open_offline(browser, path):
    """The report in a fresh page whose every request but the file itself is refused and kept."""
    page = browser.new_page(viewport={"width": 1200, "height": 1600})
    asked = []
    page.route("**/*", lambda route: (asked.append(route.request.url),
                                      route.continue_() if route.request.url == path.as_uri() else route.abort()))
    page.goto(path.as_uri())
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2",
                           timeout=30_000)
    return page, [url for url in asked if url != path.as_uri()]


def check_against_the_run(page, run) -> None:
    curves, confusion = page.evaluate(FIGURES)[:2]
    metrics = run.metrics()
    train = metrics[metrics["split"] == "train"]
    loss = next(t for t in curves if t["name"] == "train loss")
    assert loss["x"] == train["step"].tolist() and loss["y"] == pytest.approx(train["loss"].tolist())
    heatmap = next(t for t in confusion if t["type"] == "heatmap")
    assert heatmap["z"] == run.confusion("test").to_numpy().astype(float).tolist()
    tables = {t["caption"]: t["rows"] for t in page.evaluate(TABLES)}
    per_class = run.per_class("test")
    shown = tables["Each class of the test split"]
    assert [row[0] for row in shown] == [str(c) for c in per_class["class"]]
    assert [float(row[3]) for row in shown] == pytest.approx(per_class["f1"].tolist(), abs=5e-5)
    brief = dict(tables["The run in brief"])
    assert float(brief["test accuracy"]) == pytest.approx(run.summary("test")["accuracy"], abs=5e-5)
    assert dict(tables["Where and with what the run was trained"])["run id"] == run.id
    maps = page.locator(".maps img")
    assert maps.count() == 4 and all(maps.nth(i).get_attribute("src").startswith("data:image/png;base64,")
                                     for i in range(4))
    assert page.evaluate("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")


def test_the_runs_page_hands_out_a_report_that_opens_offline(short_run, tmp_path):
    env = {"RESNET_WORKBENCH_RUNS": str(short_run.dir.parent)}
    with streamlit_server(env) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        wait_for_app(page, url + "/runs", "Runs")
        grid = page.locator("[data-testid='stDataFrame']").first
        grid.wait_for(timeout=60_000)
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # the first row's selection box
        button = page.get_by_role("button", name="Report (HTML)")
        button.wait_for(timeout=30_000)
        with page.expect_download(timeout=90_000) as download:
            button.click()
        assert download.value.suggested_filename == f"{short_run.id}-report.html"
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        report, asked = open_offline(browser, path)
        assert asked == []
        check_against_the_run(report, short_run)
        report.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        found = audit(report)
        assert found == [], found


def test_the_cli_writes_the_same_report_and_refuses_a_bad_out_in_one_line(short_run, tmp_path):
    out = tmp_path / "hand-in.html"
    done = run_cli("report", short_run.id, "--runs-dir", str(short_run.dir.parent), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(out)
    with chromium() as browser:
        report, asked = open_offline(browser, out)
        assert asked == []
        check_against_the_run(report, short_run)
        assert report.evaluate("() => document.documentElement.lang") == "en"
    bad = run_cli("report", short_run.id, "--runs-dir", str(short_run.dir.parent), "--out", str(tmp_path / "r.pdf"))
    assert bad.returncode == 2 and bad.stderr.strip() == f"error: --out must name an .html file, got {tmp_path / 'r.pdf'}"
    # In Chinese too: the language of the command (LANG), the page's lang attribute with it.
    zh = run_cli("report", short_run.id, "--runs-dir", str(short_run.dir.parent), "--out", str(out),
                 "--attributions", "0", env={"LANG": "zh_CN.UTF-8"})
    assert zh.returncode == 0, zh.stderr
    text = out.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in text and json.dumps(short_run.id)[1:-1] in text
