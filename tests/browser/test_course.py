"""Issue 40 on the Teacher page, in Chromium against a real class server: a class list
uploaded keeps each name for its student (who joins with the printed code), the gradebook
downloads in Canvas's shape with the list's ids, and the change is on record; a second class
added on the page has its own join link and challenge, which the first class's students never
see; an assistant's link made on the page signs its holder in to that class's Teacher page
without the teacher's controls."""

from __future__ import annotations

import csv
import io
import json

import pytest

from resnet_core.classroom.classroom import Classroom

from e2e import ARTIFACTS, choose, chromium, class_env, join_class, streamlit_server
from helpers import TOKEN

pytestmark = pytest.mark.e2e

CLASS_LIST = b"name,student_id,email\nAda Lovelace,S001,ada@example.edu\nGrace Hopper,S002,grace@example.edu\n"


def download(page, button: str) -> str:
    with page.expect_download(timeout=60_000) as got:
        page.get_by_role("button", name=button).click()
    return got.value.path().read_text(encoding="utf-8")


def test_a_class_list_uploaded_on_the_teacher_page_keeps_names_for_their_students(tmp_path):
    runs = tmp_path / "runs"
    Classroom(runs, teacher_token=TOKEN)
    with streamlit_server(class_env(runs, RESNET_WORKBENCH_TEACHER_TOKEN=TOKEN)) as url, chromium() as browser:
        teacher = browser.new_context(viewport={"width": 1400, "height": 3200}).new_page()
        teacher.goto(f"{url}/?token={TOKEN}")
        teacher.wait_for_selector("[data-testid='stApp']", timeout=60_000)
        teacher.goto(url + "/teacher")
        teacher.get_by_role("heading", name="Class list").wait_for(timeout=60_000)
        uploader = teacher.get_by_test_id("stFileUploader").filter(has_text="Class list (CSV)")
        uploader.locator("input[type=file]").set_input_files(
            files=[{"name": "section-a.csv", "mimeType": "text/csv", "buffer": CLASS_LIST}])
        teacher.get_by_role("button", name="Import the class list").click()
        teacher.get_by_role("button", name="Download the names and codes (CSV)").wait_for(timeout=30_000)
        codes = {row["name"]: row for row in csv.DictReader(io.StringIO(
            download(teacher, "Download the names and codes (CSV)")))}
        assert codes["Ada Lovelace"]["student_id"] == "S001" and len(codes["Ada Lovelace"]["rejoin_code"]) == 14
        teacher.screenshot(path=str(ARTIFACTS / "teacher_class_list.png"))

        # The name is kept: without its code it is taken; with it, Ada is in.
        student = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        student.goto(url + "/join")
        student.fill("input[name=name]", "Ada Lovelace")
        student.click("button[type=submit]")
        student.get_by_text("is taken in this class").wait_for(timeout=30_000)
        student.fill("input[name=name]", "Ada Lovelace")
        student.locator("summary").click()
        student.fill("input[name=rejoin]", codes["Ada Lovelace"]["rejoin_code"].lower())  # typed by hand
        student.click("button[type=submit]")
        student.get_by_text("Signed in as Ada Lovelace").wait_for(timeout=60_000)

        teacher.reload()
        teacher.get_by_role("heading", name="Gradebook").wait_for(timeout=60_000)
        canvas = list(csv.DictReader(io.StringIO(download(teacher, "For Canvas (CSV)"))))
        assert [(r["Student"], r["SIS User ID"]) for r in canvas] == [
            ("Points Possible", ""), ("Ada Lovelace", "S001"), ("Grace Hopper", "S002")]
        printed = {row["name"]: row["rejoin_code"] for row in csv.DictReader(io.StringIO(
            download(teacher, "Download the names and codes (CSV)")))}
        assert printed["Ada Lovelace"] == "" and printed["Grace Hopper"] == codes["Grace Hopper"]["rejoin_code"]
        changes = [json.loads(line) for line in (runs / ".class" / "actions.jsonl").read_text().splitlines()]
        assert [(c["who"], c["action"], c["detail"]) for c in changes] == [
            ("Teacher", "import a class list", "2 students")]

        # A second class, made on the page: the sidebar switches the teacher to it.
        teacher.get_by_label("New class's name").fill("Section B")
        teacher.get_by_role("button", name="Add the class").click()
        teacher.get_by_text("Class: Section B").wait_for(timeout=60_000)
        teacher.get_by_role("button", name="Open the challenge").click()  # Section B's, on digits
        teacher.get_by_text("Open on digits").wait_for(timeout=60_000)
        # An assistant for Section B: the link is shown once on the page.
        teacher.get_by_label("Their name").fill("Tom")
        choose(teacher, "Role", "assistant")
        teacher.get_by_role("button", name="Make a link").click()
        shown = teacher.get_by_text("Link for Tom (shown once)")
        shown.wait_for(timeout=60_000)
        link = shown.locator("code").inner_text()
        assert "/?token=a-" in link
        teacher.screenshot(path=str(ARTIFACTS / "teacher_two_classes.png"))

        # Bob joins Section B by its link and sees its challenge; Ada, of the first class, sees none.
        bob = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        join_class(bob, url, "Bob", "section-b", "Section B")
        bob.goto(url + "/challenge")
        bob.get_by_role("button", name="Submit my run").wait_for(timeout=60_000)
        student.goto(url + "/challenge")
        student.get_by_text("No challenge yet").wait_for(timeout=60_000)

        # Tom's link: Section B's Teacher page, its jobs and challenge, none of the teacher's controls.
        tom = browser.new_context(viewport={"width": 1400, "height": 2400}).new_page()
        tom.goto(link)
        tom.get_by_text("Signed in as Tom (assistant)").wait_for(timeout=60_000)
        tom.goto(url + "/teacher")
        tom.get_by_role("heading", name="Jobs by student").wait_for(timeout=60_000)
        tom.get_by_role("button", name="Close and reveal the configurations").wait_for(timeout=30_000)
        for controls in ("Limits for students", "Reset the class", "Gradebook", "Classes"):
            assert tom.get_by_role("heading", name=controls, exact=True).count() == 0, controls
        tom.screenshot(path=str(ARTIFACTS / "assistant_teacher_page.png"))
    sections = runs / ".class" / "sections" / "section-b" / "class.json"
    state = json.loads(sections.read_text())
    assert state["name"] == "Section B" and list(state["roster"].values()) == ["Bob"]
    assert [s["name"] for s in state["staff"].values()] == ["Tom"]
