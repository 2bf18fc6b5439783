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

from e2e import ARTIFACTS, audit, browser_page, chromium, streamlit_server, wait_for_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("test_accessibility")]

# Streamlit's own markup, not ours (rule id -> why it is Streamlit's). Only ever shrink this.
# (It held "list" and "listitem", Streamlit's sectioned sidebar navigation: a <ul> of section
# <div>s. The app draws its navigation as page links under captions now: issue 38, item 12.)
STREAMLIT: dict[str, str] = {}
# Ours, still open (issue 27), by rule id: each must go, and nothing may join it.
OPEN: dict[str, str] = {}

# The single-user app's pages, each with the text that says it has rendered.
PAGES = {"": "Training device", "train": "Dataset", "sweep": "New sweep", "runs": "Runs",
         "evaluate": "Confusion matrix", "explain": "Explain", "predict": "Predict",
         "deploy": "Deploy", "lessons": "Lessons"}
# Class mode: what each role's navigation holds (pages/navigation.py), with the same texts.
STUDENT = ["", "challenge", "runs", "evaluate", "explain", "predict", "lessons"]
TEACHER = ["", "train", "sweep", "challenge", "runs", "evaluate", "explain", "predict", "deploy",
           "lessons", "teacher"]
TEXT = {**PAGES, "challenge": "Challenge", "teacher": "Teacher"}
TOKEN = "t0ken-for-the-tests-only"

# Every Plotly chart on the page has drawn its SVG and every image has loaded.
DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot')].every(p => p.querySelector('.main-svg'))
    && [...document.images].every(i => i.complete)"""
HEADINGS = """() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')]
    .filter(h => h.offsetParent !== null && h.innerText.trim())
    .map(h => [Number(h.tagName[1]), h.innerText.trim()])"""


def heading_problems(page) -> list[str]:
    """One h1, and no level skipped going down (h1 then h3 is a skip; h3 then h2 is fine)."""
    levels = page.evaluate(HEADINGS)
    problems = [] if [lvl for lvl, _ in levels].count(1) == 1 else [f"h1 count: {levels}"]
    for (before, _), (level, text) in zip(levels, levels[1:], strict=False):
        if level > before + 1:
            problems.append(f"h{before} then h{level} ({text!r})")
    return problems


class Auditor:
    """Runs axe and the headings check on each state visited; keeps what it found by name."""

    def __init__(self) -> None:
        self.found: dict[str, list[dict]] = {}
        self.headings: dict[str, list[str]] = {}

    def __call__(self, page, name: str) -> None:
        page.wait_for_function(DRAWN, timeout=30_000)  # charts and images drawn
        page.wait_for_timeout(300)  # and the rerun's last elements settled
        self.found[name] = audit(page)
        self.headings[name] = heading_problems(page)

    def visit(self, page, url: str, path: str, prefix: str = "") -> None:
        wait_for_app(page, f"{url}/{path}", TEXT[path])
        self(page, prefix + (path or "home"))

    def report(self, name: str) -> None:
        """Write tests/artifacts/axe_report_<name>.json; fail on anything of ours."""
        report = {state: [{k: v[k] for k in ("id", "impact", "nodes", "first")} for v in found]
                  for state, found in self.found.items()}
        (ARTIFACTS / f"axe_report_{name}.json").write_text(json.dumps(report, indent=1))
        ours = {state: [(v["id"], v["help"], v["first"]) for v in found
                        if v["id"] not in STREAMLIT and v["id"] not in OPEN]
                for state, found in self.found.items()}
        assert {state: v for state, v in ours.items() if v} == {}
        assert {state: v for state, v in self.headings.items() if v} == {}


@pytest.fixture(scope="module")
def filled(short_run, tmp_path_factory):
    """A runs folder with a completed run, the activations lesson's three runs and a finished
    two-trial sweep: every state the pages have to show."""
    import dataclasses

    from resnet_core import classroom, sweep, train

    runs = tmp_path_factory.mktemp("a11y") / "runs"
    shutil.copytree(short_run.dir, runs / short_run.id)
    lesson = classroom.LESSONS["activations"]
    for config in lesson.configs():
        train(dataclasses.replace(config, runs_dir=str(runs), epochs=2), progress=False)
    sweep(["lr=log:0.01:0.5"], trials=2, pruner="none", dataset="digits", epochs=1,
          runs_dir=runs, progress=False, live=False)
    return runs


def test_every_page_in_every_state_has_no_serious_violation_of_our_own(filled, tmp_path):
    """Single-user mode: every page on an empty runs folder, then on a filled one, then the
    states that draw more (Predict on a test image, Deploy serving, a lesson revealed, a run
    training with its one polite live region)."""
    check = Auditor()
    with browser_page(height=1800) as page:
        with streamlit_server({"RESNET_WORKBENCH_RUNS": str(tmp_path / "empty"),
                               "RESNET_WORKBENCH_DATA": str(tmp_path / "data")}) as url:
            for path in PAGES:
                wait_for_app(page, f"{url}/{path}", PAGES[path] if path in ("", "train", "sweep", "lessons")
                             else "No run")
                check(page, f"empty/{path or 'home'}")
        env = {"RESNET_WORKBENCH_RUNS": str(filled), "RESNET_WORKBENCH_DATA": str(tmp_path / "data"),
               "RESNET_WORKBENCH_REFRESH_S": "1"}
        with streamlit_server(env) as url:
            for path in PAGES:
                check.visit(page, url, path)
            wait_for_app(page, f"{url}/predict", "Pick a test image")
            page.get_by_text("Pick a test image", exact=True).click()
            page.get_by_text("Test image #0, true class:").wait_for(timeout=30_000)
            check(page, "predict/test image")

            wait_for_app(page, f"{url}/deploy", "Start the service")
            page.get_by_role("button", name="Start the service").click()
            page.get_by_text("Images served").wait_for(timeout=60_000)
            check(page, "deploy/serving")
            page.get_by_role("button", name="Stop the service").click()

            wait_for_app(page, f"{url}/lessons?lesson=activations", "Lock in my prediction")
            page.get_by_text("100x smaller or less").click()
            page.get_by_role("button", name="Lock in my prediction").click()
            page.get_by_text("Lesson runs: all 3 runs done. The answer is below.").wait_for(timeout=60_000)
            check(page, "lessons/revealed")

            wait_for_app(page, f"{url}/train", "Dataset")
            page.get_by_role("button", name="Train", exact=True).click()
            status = page.get_by_role("status").filter(has_text="is training")
            status.wait_for(timeout=60_000)
            # Count what a screen reader would hear: each new text of the polite region.
            page.evaluate("""() => { window.heard = [];
                new MutationObserver(changes => { for (const c of changes) {
                    const region = c.target.closest ? c.target.closest('.wb-status') : null;
                    if (region && region.textContent !== window.heard.at(-1)) window.heard.push(region.textContent);
                }}).observe(document.body, {childList: true, characterData: true, subtree: true}); }""")
            page.get_by_text("Val accuracy", exact=True).wait_for(timeout=60_000)
            check(page, "train/running")
            live = page.evaluate("() => [...document.querySelectorAll('[aria-live]')]"
                                 ".filter(e => e.offsetParent !== null).map(e => e.getAttribute('aria-live'))")
            page.get_by_role("status").filter(has_text="is completed").wait_for(timeout=180_000)
            heard = page.evaluate("window.heard")
            check(page, "train/completed")
    check.report("single_user")
    # The training view refreshed every second for the whole run; a screen reader heard one
    # polite region at most five times (25%, 50%, 75%, completed), nothing assertive.
    assert live == ["polite"], live
    assert 1 <= len(heard) <= 5 and heard[-1].endswith("is completed."), heard


def test_class_mode_pages_as_a_student_and_as_the_teacher(filled):
    """The join form (ours, not Streamlit's), then every page a student has and every page
    the teacher has, on a class server with the same runs."""
    from e2e import class_env, join

    check = Auditor()
    env = class_env(filled, RESNET_WORKBENCH_TEACHER_TOKEN=TOKEN)
    with streamlit_server(env) as url, chromium() as browser:
        student = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
        student.goto(url)
        student.wait_for_selector("input[name=name]", timeout=60_000)
        check(student, "join")
        join(student, url, "Ada")
        for path in STUDENT:
            check.visit(student, url, path, "student/")
        teacher = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
        teacher.goto(f"{url}/?token={TOKEN}")
        teacher.wait_for_selector("[data-testid='stApp']", timeout=60_000)
        for path in TEACHER:
            check.visit(teacher, url, path, "teacher/")
    check.report("class")
