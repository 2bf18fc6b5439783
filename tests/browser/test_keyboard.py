"""Keyboard only (issue 27): a student joins, opens each lesson, starts one and reads its
answer with Tab, Enter, Space and the arrow keys (typing their name aside), never the mouse;
every element Tab reaches shows that it has the focus.

"Shows the focus" is measured, not read from CSS: the element's area is photographed while it
has the focus and again once Tab has moved on; the two must differ (an outline, a ring, a
colour). Streamlit's own main-area landmark, which its skip link focuses, is the one
exception (``NO_RING``).
"""

from __future__ import annotations

import re

import pytest

from resnet_core import classroom
from resnet_core.runs.folder import STATUS_FILE, read_status

from e2e import ARTIFACTS, chromium, shows, streamlit_server, wait_for_runs_text
from helpers import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FOCUSED = """() => { const e = document.activeElement;
  if (!e || e === document.body) return null;
  const r = e.getBoundingClientRect();
  return {tag: e.tagName, role: e.getAttribute('role'), type: e.type || null,
          name: (e.getAttribute('aria-label') || e.innerText || '').replace(/\\s+/g, ' ').trim().slice(0, 60),
          box: [r.x, r.y, r.width, r.height]}; }"""
# Streamlit's, not ours: the <main> its "Skip to main content" link moves the focus to.
NO_RING = {"MAIN": "Streamlit's main landmark (the skip link's target): a container, not a control"}
VIEWPORT = {"width": 1400, "height": 1800}


class Keyboard:
    """The student's hands: keys only, and a record of every focus stop Tab made."""

    def __init__(self, page) -> None:
        self.page = page
        self.stops: list[dict] = []
        self.unseen: list[str] = []  # focus stops that looked the same focused and not
        self._last: tuple[dict, bytes] | None = None

    def _shot(self, box) -> bytes | None:
        x, y, w, h = box
        x0, y0 = max(0, x - 6), max(0, y - 6)
        x1, y1 = min(VIEWPORT["width"], x + w + 6), min(VIEWPORT["height"], y + h + 6)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        return self.page.screenshot(clip={"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0},
                                    animations="disabled")

    def tab(self) -> dict | None:
        self.page.keyboard.press("Tab")
        self.page.wait_for_timeout(200)  # focus styles' transitions
        if self._last is not None:
            info, focused = self._last
            if focused is not None and self._shot(info["box"]) == focused:
                self.unseen.append(f"{info['tag']} {info['role'] or info['type'] or ''} {info['name']!r}")
        info = self.page.evaluate(FOCUSED)
        self._last = None
        if info is not None:
            self.stops.append(info)
            if info["tag"] not in NO_RING:
                self._last = (info, self._shot(info["box"]))
        return info

    def tab_to(self, wanted, limit: int = 60) -> dict:
        """Tab until the focused element satisfies ``wanted``; fail after ``limit`` stops."""
        for _ in range(limit):
            info = self.tab()
            if info is not None and wanted(info):
                return info
        raise AssertionError(f"Tab never reached it; stops: {[s['name'] for s in self.stops[-limit:]]}")

    def press(self, key: str) -> None:
        """Any other key: the page may change, so the last focus stop is not compared."""
        self._last = None
        self.page.keyboard.press(key)


def lesson_heading(page, title: str) -> None:
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=60_000)


def predict_third(keys: Keyboard, lesson) -> None:
    """Tab to the prediction's answers, check the third with Space and the arrows, lock it in."""
    keys.tab_to(lambda f: f["type"] == "radio")
    keys.press("Space")  # checks the first answer; the arrows move the check along
    keys.press("ArrowDown")
    keys.press("ArrowDown")  # the third
    keys.tab_to(lambda f: f["tag"] == "BUTTON" and f["name"] == "Lock in my prediction")
    keys.press("Enter")
    keys.page.get_by_text(f"Your prediction: {lesson.choices[2]}").wait_for(timeout=30_000)


def test_a_student_joins_opens_each_lesson_runs_one_and_reads_its_answer_by_keyboard(tmp_path):
    from e2e import class_env

    lessons = list(classroom.LESSONS.values())
    chosen = classroom.LESSONS["activations"]
    with streamlit_server(class_env(tmp_path / "runs")) as url, chromium() as browser:
        page = browser.new_context(viewport=VIEWPORT).new_page()
        keys = Keyboard(page)
        page.goto(url)  # the class server sends a newcomer to its join form
        page.wait_for_selector("input[name=name]", timeout=60_000)
        # The name field has the focus already (autofocus); type the name, Enter joins.
        assert page.evaluate("document.activeElement.id") == "name"
        page.keyboard.type("Ada")
        keys.press("Enter")
        page.get_by_text("Signed in as").wait_for(timeout=60_000)

        # The sidebar's navigation: Tab to Lessons, Enter.
        keys.tab_to(lambda f: f["tag"] == "A" and f["name"].endswith("Lessons"))
        keys.press("Enter")
        lesson_heading(page, lessons[0].title)

        # The lesson picker: Tab to it; each ArrowDown + Enter opens the next lesson.
        keys.tab_to(lambda f: f["role"] == "combobox" and f["name"] == "Lesson")
        for lesson in lessons[1:]:
            keys.press("ArrowDown")
            page.wait_for_timeout(300)
            keys.press("Enter")
            lesson_heading(page, lesson.title)
        back = len(lessons) - 1 - lessons.index(chosen)
        for _ in range(back):  # ... and ArrowUp back to the one to run
            keys.press("ArrowUp")
            page.wait_for_timeout(300)
        keys.press("Enter")
        lesson_heading(page, chosen.title)

        # Start it, predict, lock the prediction in.
        keys.tab_to(lambda f: f["tag"] == "BUTTON" and f["name"] == "Run this lesson")
        keys.press("Enter")
        page.get_by_text("Queued 3 runs").first.wait_for(timeout=30_000)
        predict_third(keys, chosen)

        # The answer, in words, once the three runs have trained (about 30 s on 2 cores).
        done = "Lesson runs: all 3 runs done. The answer is below."
        runs = tmp_path / "runs"
        wait_for(lambda: [read_status(p.parent).get("state") for p in runs.rglob(STATUS_FILE)]
                 == ["completed"] * 3, timeout=240)
        if not shows(page, done, 60):
            # Twice under CI's load (2026-12-07) the page stopped refreshing at its first render
            # (all three runs "queued" on it, completed on disk; benchmarks/RESULTS.md, "CI's
            # wall time, ninth"): Streamlit's timer of the live fragment, not the keyboard path
            # this test is about. Open the lesson again, as its reader would, and predict again.
            print("the lesson page did not follow the finished runs in 60 s; opened it again")
            page.goto(f"{url}/lessons?lesson={chosen.id}")
            lesson_heading(page, chosen.title)
            predict_third(keys, chosen)
        wait_for_runs_text(page, done, runs, timeout_s=60)
        answer = page.locator("[data-testid='stAlert']").filter(
            has_text=re.compile("You predicted it|The runs say"))
        answer.first.wait_for(timeout=30_000)
        said = answer.first.inner_text()
        assert any(choice in said for choice in chosen.choices), said
        # ... and a keyboard user can reach what follows it: Tab on to "Predict again".
        keys.tab_to(lambda f: f["tag"] == "BUTTON" and f["name"] == "Predict again")
        page.screenshot(path=str(ARTIFACTS / "keyboard_lesson.png"))

    tags = {s["tag"] for s in keys.stops}
    assert {"A", "INPUT", "BUTTON"} <= tags, tags
    assert keys.unseen == [], f"focus not visible on: {keys.unseen}"
