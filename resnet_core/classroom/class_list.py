"""A class list a teacher imports (issue 40): the students' names, and where the school has
them, their student ids and emails. Importing reserves each name (only its rejoin code gets
it) and keeps the id and email for the gradebook. The rules only; ``Classroom`` keeps the
roster and calls them under its lock.

The file is what a school's system or a spreadsheet writes: CSV in UTF-8 (a BOM is fine),
a header row naming the columns (``name``; optional ``student_id`` and ``email``, with the
usual spellings of each), one student per row.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass

from resnet_core.classroom.roster import (
    clean_name,
    name_key,
    new_rejoin_entry,
    rejoin_code,
    shows_again,
)
from resnet_core.errors import ConfigError
from resnet_core.i18n import _

MAX_STUDENTS = 1000  # one list; a course of six sections of 60 is 360
MAX_BYTES = 1 << 20
# Column names as schools spell them (compared lower-case, spaces and dashes as underscores).
COLUMNS = {"name": ("name", "student", "student_name", "full_name", "display_name", "姓名"),
           "student_id": ("student_id", "id", "sis_user_id", "id_number", "number", "学号"),
           "email": ("email", "email_address", "e_mail", "mail", "邮箱")}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STUDENT_ID = re.compile(r"^[\w.\-]{1,64}$")


@dataclass(frozen=True)
class Enrollment:
    """One student of a class list: the name they join with, and the school's id and email
    ("" where the list has none)."""

    name: str
    student_id: str = ""
    email: str = ""

    def to_dict(self) -> dict:
        return {"student_id": self.student_id, "email": self.email}


def _column(header: str) -> str | None:
    key = re.sub(r"[\s\-]+", "_", header.strip().lower())
    return next((field for field, names in COLUMNS.items() if key in names), None)


def parse_class_list(data: bytes | str) -> list[Enrollment]:
    """The students of a class list file; a one-line error naming the row and what is
    accepted for the first thing wrong (an unknown file shape, a bad name, a name twice)."""
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise ConfigError(_("a class list is at most 1 MB, got {size:,} bytes").format(size=len(data)))
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ConfigError(_("a class list is a CSV file in UTF-8; this one is not UTF-8")) from None
    rows = list(csv.reader(io.StringIO(data.lstrip("\ufeff"))))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise ConfigError(_("the class list is empty: give a header row (name, student_id, email) "
                            "and one row per student"))
    columns = [_column(h) for h in rows[0]]
    if "name" not in columns:
        raise ConfigError(_("a class list needs a name column; its header row was {header} "
                            "(accepted: name, and optionally student_id and email)").format(
                              header=", ".join(rows[0])))
    if len(rows) - 1 > MAX_STUDENTS:
        raise ConfigError(_("a class list has at most {limit} students, got {count}").format(
                              limit=MAX_STUDENTS, count=len(rows) - 1))
    found: list[Enrollment] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        cells = {field: row[i].strip() for i, field in enumerate(columns) if field and i < len(row)}
        try:
            name = clean_name(cells.get("name", ""))
        except ConfigError as e:
            raise ConfigError(_("row {number}: {reason}").format(number=number, reason=e)) from None
        student_id, email = cells.get("student_id", ""), cells.get("email", "")
        if student_id and not STUDENT_ID.match(student_id):
            raise ConfigError(_("row {number}: a student id is 1 to 64 letters, digits, dots, dashes "
                                "or underscores, got {value}").format(number=number, value=f"{student_id!r}"))
        if email and not EMAIL.match(email):
            raise ConfigError(_("row {number}: {value} is not an email address").format(
                                  number=number, value=f"{email!r}"))
        key = name_key(name)
        if key in seen:
            raise ConfigError(_("row {number}: the name {name} is on the list twice (first in row "
                                "{first}, or a look-alike of it)").format(
                                  number=number, name=f"{name!r}", first=seen[key]))
        seen[key] = number
        found.append(Enrollment(name, student_id, email))
    return found


def enroll(state, enrollments: list[Enrollment]) -> list[str]:
    """Reserve the names of a class list in ``state`` (a ``ClassState``): a name not on the
    roster yet is added, and only its rejoin code gets it; a name already there (a student who
    joined before the list came) keeps its id and runs. The school's id and email are kept for
    the gradebook. The student ids, in the list's order."""
    by_key = {name_key(n): sid for sid, n in state.roster.items()}
    sids = []
    for e in enrollments:
        sid = by_key.get(name_key(e.name))
        if sid is None:  # reserved: the name waits for its student and their code
            sid = f"s-{secrets.token_hex(6)}"
            state.roster[sid] = e.name
            state.rejoin[sid] = new_rejoin_entry()
            joined = False
        else:  # on the roster: joined by themself, or reserved by an earlier list
            joined = state.enrolled.get(sid, {}).get("joined", True)
        state.enrolled[sid] = {**e.to_dict(), "joined": joined}
        sids.append(sid)
    return sids


def listed(state, secret: bytes, sids: list[str] | None = None) -> list[dict]:
    """The class list as the teacher prints it (``sids``, else every enrolled student by name):
    name, student_id, email and the rejoin code still waiting to be used ("" once joined)."""
    if sids is None:
        sids = sorted(state.enrolled, key=lambda sid: state.roster.get(sid, "").casefold())
    return [{"name": state.roster[sid], "student_id": state.enrolled[sid].get("student_id", ""),
             "email": state.enrolled[sid].get("email", ""), "rejoin_code": _waiting_code(state, secret, sid)}
            for sid in sids if sid in state.roster]


def _waiting_code(state, secret: bytes, sid: str) -> str:
    entry = state.rejoin.get(sid)
    if state.enrolled.get(sid, {}).get("joined") or not shows_again(entry):
        return ""
    return rejoin_code(secret, sid, entry)
