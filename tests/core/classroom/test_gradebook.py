"""Issue 40, results out: a class list imported (names kept for their students, ids and emails
for the gradebook), the gradebook in its three shapes against golden files, and who changed
what in the class."""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import pytest

from resnet_core.classroom.access import AccessDenied, User
from resnet_core.classroom.class_list import parse_class_list
from resnet_core.classroom.gradebook import grade_rows
from resnet_core.classroom.lesson_queue import lesson_for
from resnet_core.classroom.lessons import LESSONS
from resnet_core.errors import ConfigError
from resnet_core.runs.folder import Run
from resnet_core.runs.jobfile import Owner, write_new_job
from resnet_core.runs.jsonl import read_jsonl, write_jsonl
from resnet_core.runs.store import RunStore

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "gradebook"
TEACHER = User("teacher", "Teacher", "teacher")
CLASS_LIST = ("\ufeffName,Student ID,Email\r\n"  # as a spreadsheet saves it: a BOM, spaced headers
              "Ada Lovelace,S001,ada@example.edu\r\n"
              "Grace Hopper,S002,grace@example.edu\r\n"
              "Alan Turing,S003,\r\n").encode()


def a_run(short_run, runs: Path, name: str, owner: Owner, accuracy: float, challenge: str | None) -> None:
    """A copy of a real run owned by ``owner``, its final test accuracy set to ``accuracy``."""
    run = Run(runs / f"{short_run.id}-{name}")
    shutil.copytree(short_run.dir, run.dir)
    lines = read_jsonl(run.metrics_path)
    next(line for line in reversed(lines) if line["split"] == "test")["accuracy"] = accuracy
    write_jsonl(run.metrics_path, lines)
    write_new_job(run, processes=1, owner=owner, challenge=challenge)


@pytest.fixture
def course(short_run, bench):
    """A class of four: three from the class list (Ada, Grace, Alan), one joined without it
    (Linus); challenge runs, one run outside it, predictions right and wrong."""
    teacher = bench.session(TEACHER)
    challenge = teacher.open_challenge("digits", 30)
    codes = {row["name"]: row["rejoin_code"] for row in teacher.import_class_list(CLASS_LIST)}
    room = bench.classroom
    ada, _ = room.join("Ada Lovelace", rejoin=codes["Ada Lovelace"])
    grace, _ = room.join("grace hopper", rejoin=codes["Grace Hopper"])  # any case
    linus, _ = room.join("Linus")
    alan = next(sid for sid, name in room.state.roster.items() if name == "Alan Turing")  # not joined
    runs = bench.runs_dir
    for name, who, accuracy, entered in (("a1", ada, 0.91, True), ("a2", ada, 0.87, True),
                                         ("g1", grace, 0.95, True), ("l1", linus, 0.8, True),
                                         ("l2", linus, 0.99, False)):
        a_run(short_run, runs, name, Owner(who.id, who.name), accuracy, challenge.id if entered else None)
    degradation = LESSONS["degradation"]
    room.vote(ada.id, degradation, degradation.answer)
    room.vote(ada.id, LESSONS["activations"], LESSONS["activations"].answer - 1)  # wrong
    room.vote(grace.id, degradation, degradation.answer)
    room.vote(grace.id, lesson_for("degradation-fashion"), degradation.answer)  # the same lesson again
    room.vote(alan, LESSONS["normalisation"], LESSONS["normalisation"].answer)
    room.vote(alan, LESSONS["article"], 0)  # read off its runs: none ran, so not right (yet)
    return teacher


def test_a_class_list_keeps_each_name_for_the_student_with_its_code(bench):
    teacher = bench.session(TEACHER)
    rows = teacher.import_class_list(CLASS_LIST)
    assert [(r["name"], r["student_id"], r["email"]) for r in rows] == [
        ("Ada Lovelace", "S001", "ada@example.edu"), ("Grace Hopper", "S002", "grace@example.edu"),
        ("Alan Turing", "S003", "")]
    assert all(len(r["rejoin_code"]) == 14 for r in rows)
    room = bench.classroom
    with pytest.raises(ConfigError, match="is taken"):
        room.join("Ada Lovelace")  # kept: only the code gets it
    with pytest.raises(ConfigError, match="is taken"):
        room.join("Аda Lovelace")  # nor a look-alike (a Cyrillic А)
    ada, _ = room.join("Ada Lovelace", rejoin=rows[0]["rejoin_code"])
    # The teacher's printout: the code that was used is gone, the others still wait.
    printed = {r["name"]: r["rejoin_code"] for r in teacher.class_list()}
    assert printed["Ada Lovelace"] == "" and printed["Grace Hopper"] == rows[1]["rejoin_code"]
    # Importing the list again (a corrected email) keeps the students and their codes.
    again = CLASS_LIST.replace(b"grace@example.edu", b"g.hopper@example.edu")
    rows2 = {r["name"]: r for r in teacher.import_class_list(again)}
    assert rows2["Grace Hopper"]["email"] == "g.hopper@example.edu"
    assert rows2["Grace Hopper"]["rejoin_code"] == rows[1]["rejoin_code"]
    assert room.state.roster[ada.id] == "Ada Lovelace" and len(room.state.roster) == 3
    # A student who joined before the list keeps their id (and runs); no code is handed out.
    linus, _ = room.join("Linus")
    rows3 = {r["name"]: r for r in teacher.import_class_list(b"name,student_id\nLinus,S009\n")}
    assert rows3["Linus"]["rejoin_code"] == "" and room.state.enrolled[linus.id]["student_id"] == "S009"


@pytest.mark.parametrize("text, says", [
    (b"", "the class list is empty"),
    (b"student_id,email\nS1,a@b.org\n", "needs a name column; its header row was student_id, email"),
    (b"name,email\nAda,not-an-email\n", "row 2: 'not-an-email' is not an email address"),
    (b"name\nAda\nADA\n", "row 3: the name 'ADA' is on the list twice (first in row 2"),
    (b"name\nTeacher\n", "row 2: 'Teacher' is reserved"),
    (b"name,id\nAda,S 1\n", "row 2: a student id is 1 to 64 letters"),
    ("name\nAda\n".encode("utf-16"), "not UTF-8"),
])
def test_a_bad_class_list_is_refused_in_one_line_that_names_the_row(text, says):
    with pytest.raises(ConfigError) as e:
        parse_class_list(text)
    assert says in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("shape", ["csv", "canvas", "moodle"])
def test_the_gradebook_in_each_shape_equals_its_golden_file(course, shape):
    """UPDATE_GOLDEN=1 writes the files anew (read them before committing)."""
    got, path = course.gradebook(shape).encode("utf-8"), GOLDEN / f"{shape}.csv"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_bytes(got)
    assert got == path.read_bytes()


def test_the_gradebooks_figures_are_the_runs_and_the_predictions(course, bench):
    rows = {r.name: r for r in grade_rows(bench.classroom.state, RunStore(bench.runs_dir))}
    assert (rows["Grace Hopper"].rank, rows["Ada Lovelace"].rank, rows["Linus"].rank) == (1, 2, 3)
    assert rows["Ada Lovelace"].best_test_accuracy == 0.91  # her best of two entries
    assert rows["Linus"].best_test_accuracy == 0.8  # his 0.99 run entered no challenge
    assert rows["Linus"].runs == 2 and rows["Alan Turing"].runs == 0 and rows["Alan Turing"].rank is None
    assert (rows["Ada Lovelace"].lessons_done, rows["Ada Lovelace"].answers_right) == (2, 1)
    assert (rows["Grace Hopper"].lessons_done, rows["Grace Hopper"].answers_right) == (1, 1)
    assert (rows["Alan Turing"].lessons_done, rows["Alan Turing"].answers_right) == (2, 1)
    # Canvas matches a row by its SIS User ID; Moodle by ID number or email: each row has them.
    canvas = list(csv.DictReader(io.StringIO(course.gradebook("canvas"))))
    assert canvas[0]["Student"] == "Points Possible"
    assert {r["SIS User ID"] for r in canvas[1:]} == {"S001", "S002", "S003", ""}
    moodle = list(csv.DictReader(io.StringIO(course.gradebook("moodle"))))
    ada = next(r for r in moodle if r["ID number"] == "S001")
    assert (ada["First name"], ada["Last name"], ada["Email address"]) == ("Ada", "Lovelace", "ada@example.edu")


def test_every_change_to_the_class_is_recorded_with_who_and_when(bench):
    teacher = bench.session(TEACHER)
    teacher.set_class_code("owl-seven-2")
    teacher.lock_lesson("depth")
    teacher.import_class_list(CLASS_LIST)
    changes = teacher.class_actions()
    assert [(c["who"], c["role"], c["action"], c["detail"]) for c in changes] == [
        ("Teacher", "teacher", "import a class list", "3 students"),
        ("Teacher", "teacher", "lock the class to a lesson", "depth"),
        ("Teacher", "teacher", "set the class code", "set")]  # the code itself is not written
    assert all(c["at"].endswith("+00:00") for c in changes)
    assert "owl-seven-2" not in bench.classroom.actions.path.read_text()
    teacher.reset_class()
    assert teacher.class_actions()[0]["action"] == "reset the class"  # kept across a reset
    ada, _ = bench.classroom.join("Ada", "owl-seven-2")
    for look in (lambda s: s.class_actions(), lambda s: s.gradebook(), lambda s: s.class_list()):
        with pytest.raises(AccessDenied):
            look(bench.session(ada))
