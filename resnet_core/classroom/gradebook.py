"""A class's gradebook (issue 40): one row per student (name, student id, the challenge's best
test accuracy and rank, lessons done, quiz answers right, runs), as plain CSV and in the
shapes Canvas's and Moodle's grade imports read.

- **canvas**: Canvas's Gradebook import (Grades > Import): the columns ``Student``, ``ID``,
  ``SIS User ID``, ``SIS Login ID``, ``Section`` first, then one column per assignment (a new
  name makes a new assignment), and a ``Points Possible`` row under the header. Canvas's own
  ``ID`` is not known here, so rows are matched by ``SIS User ID`` (the class list's student
  id).
- **moodle**: Moodle's "Import grades: CSV file": ``First name``, ``Last name``, ``ID number``,
  ``Email address``, then one column per grade item; the teacher maps ``ID number`` (or
  ``Email address``) to the user and each item column to a grade item.

"Lessons done" counts the lessons whose question the student answered; "answers right", those
answered right (a lesson whose answer is read off its runs counts once its runs completed). A
lesson and its Fashion-MNIST variant count as one lesson of the course's ``len(LESSONS)``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from resnet_core.classroom.challenge import challenge_entries
from resnet_core.classroom.lesson_queue import (
    lesson_answer,
    lesson_for,
    lesson_progress,
    lesson_runs,
)
from resnet_core.classroom.lessons import LESSONS, REAL_DATA_SUFFIX
from resnet_core.errors import ConfigError
from resnet_core.i18n import _

SHAPES = ("csv", "canvas", "moodle")
PLAIN_COLUMNS = ("name", "student_id", "email", "best_test_accuracy", "rank", "lessons_done",
                 "answers_right", "runs")
# The grade items (Canvas assignments, Moodle grade items) the LMS shapes carry, in English:
# an import's column names are matched, not read.
CHALLENGE_ITEM = "ResNet challenge: best test accuracy (%)"
LESSONS_ITEM = "ResNet lessons: answers right"
RUNS_ITEM = "ResNet runs"


@dataclass(frozen=True)
class GradeRow:
    name: str
    student_id: str  # the school's, from an imported class list ("" without one)
    email: str
    best_test_accuracy: float | None  # the challenge's (open or last); None: no result
    rank: int | None  # among the students with a result, best first
    lessons_done: int
    answers_right: int
    runs: int  # every run the student trained (challenge or not)


def _answers(votes: dict[str, dict[str, int]], store) -> dict[str, int]:
    """Lesson id -> its right choice, for the lessons someone answered: fixed, or read off the
    lesson's runs once they completed (unknown before: no answer counts right yet)."""
    answers = {}
    for lesson_id in votes:
        try:
            lesson = lesson_for(lesson_id)
        except (ConfigError, KeyError):  # a lesson of an older release
            continue
        if lesson.answer is not None:
            answers[lesson_id] = lesson.answer
            continue
        found = lesson_runs(store, lesson)
        answer = lesson_answer(lesson, found) if lesson_progress(lesson, found).done else None
        if answer is not None:
            answers[lesson_id] = answer
    return answers


def _base(lesson_id: str) -> str:
    """A lesson and its real-data variant are one lesson of the course."""
    return lesson_id.removesuffix(REAL_DATA_SUFFIX)


def grade_rows(state, store) -> list[GradeRow]:
    """The gradebook of a class (its ``ClassState``) over the runs of ``store``, by name."""
    entries = challenge_entries(state.challenge, store)
    best: dict[str, dict] = {}
    for row in entries:  # best first
        if row["test_accuracy"] is not None:
            best.setdefault(row["owner_id"], row)
    rank = {owner: i for i, owner in enumerate(best, start=1)}
    runs: dict[str, int] = {}
    for run in store.runs():
        owner = run.job.owner.id
        runs[owner] = runs.get(owner, 0) + 1
    answers = _answers(state.votes, store)
    rows = []
    for sid, name in state.roster.items():
        voted = {lesson_id: by[sid] for lesson_id, by in state.votes.items() if sid in by}
        right = {_base(lesson_id) for lesson_id, choice in voted.items() if answers.get(lesson_id) == choice}
        enrolled = state.enrolled.get(sid, {})
        entry = best.get(sid)
        rows.append(GradeRow(
            name=name, student_id=enrolled.get("student_id", ""), email=enrolled.get("email", ""),
            best_test_accuracy=entry["test_accuracy"] if entry else None, rank=rank.get(sid),
            lessons_done=len({_base(lesson_id) for lesson_id in voted}), answers_right=len(right),
            runs=runs.get(sid, 0)))
    return sorted(rows, key=lambda r: (r.name.casefold(), r.student_id))


def _percent(accuracy: float | None) -> str:
    return "" if accuracy is None else f"{100 * accuracy:.2f}"


def _split_name(name: str) -> tuple[str, str]:
    """First and last name for Moodle's columns: the last word is the last name."""
    first, _sep, last = name.rpartition(" ")
    return (first, last) if first else (name, "")


def gradebook_csv(rows: list[GradeRow], shape: str = "csv", *, section: str = "") -> str:
    """The gradebook as CSV text in ``shape`` (``SHAPES``); ``section`` is Canvas's Section."""
    if shape not in SHAPES:
        raise ConfigError(_("a gradebook's shape is one of {names}, got {shape}").format(
                              names=", ".join(SHAPES), shape=f"{shape!r}"))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180, as the LMSs write their own
    if shape == "csv":
        writer.writerow(PLAIN_COLUMNS)
        for r in rows:
            writer.writerow([r.name, r.student_id, r.email,
                             "" if r.best_test_accuracy is None else f"{r.best_test_accuracy:.4f}",
                             "" if r.rank is None else r.rank, r.lessons_done, r.answers_right, r.runs])
    elif shape == "canvas":
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                         CHALLENGE_ITEM, LESSONS_ITEM])
        writer.writerow(["Points Possible", "", "", "", "", "100", str(len(LESSONS))])
        for r in rows:
            writer.writerow([r.name, "", r.student_id, "", section, _percent(r.best_test_accuracy),
                             r.answers_right])
    else:
        writer.writerow(["First name", "Last name", "ID number", "Email address",
                         CHALLENGE_ITEM, LESSONS_ITEM, RUNS_ITEM])
        for r in rows:
            first, last = _split_name(r.name)
            writer.writerow([first, last, r.student_id, r.email, _percent(r.best_test_accuracy),
                             r.answers_right, r.runs])
    return out.getvalue()
