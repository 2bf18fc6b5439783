"""A course: the several classes (sections) one class server teaches (issue 40).

The first class is the one a server has always had (``<runs>/.class/``, id ``main``); a
teacher adds more (``<runs>/.class/sections/<id>/``), each a ``Classroom`` of its own: its
class code and join link (``/join?class=<id>``), roster, limits, lesson lock, challenge and
leaderboard, co-teachers and assistants, change log. One cookie secret and one teacher token
serve them all: the token's holder teaches every class; a co-teacher's or an assistant's link
(``Classroom.add_staff``) one. A session cookie names its class, and a student is checked
against that class's roster only, so a student of one class never acts in another.

The job manager's policy on a class server is the course: it hands each check to the class
the front door names (``class_id``). Every replica reads the sections folder again when asked,
so a class added through one replica is served by all.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from resnet_core.classroom.access import ALL_CLASSES, MAIN_CLASS, User, read_session
from resnet_core.classroom.classroom import (
    SECTIONS_DIR,
    Classroom,
    classroom_for,
    clean_class_name,
)
from resnet_core.errors import RunError
from resnet_core.filelock import FolderLock
from resnet_core.i18n import _

MAX_CLASSES = 24  # a course of two to six sections, with room to spare


class Course:
    """The classes of one runs folder, shared by every process that serves it. One per runs
    folder and process (``course_for``)."""

    def __init__(self, runs_dir: str | Path, *, teacher_token: str | None = None,
                 main: Classroom | None = None) -> None:
        self.main = main or Classroom(runs_dir, teacher_token=teacher_token)
        self.runs_dir = Path(runs_dir)
        self.secret = self.main.secret
        self.teacher_token = self.main.teacher_token
        self.token_generated = self.main.token_generated
        self._rooms: dict[str, Classroom] = {MAIN_CLASS: self.main}
        self._lock = threading.Lock()

    @property
    def sections_dir(self) -> Path:
        return self.main.dir / SECTIONS_DIR

    def classes(self) -> list[Classroom]:
        """Every class: the first one, then the added ones by id."""
        found = sorted((p for p in self.sections_dir.glob("*/class.json")), key=lambda p: p.parent.name) \
            if self.sections_dir.is_dir() else []
        return [self.main] + [self._room(p.parent.name) for p in found]

    def get(self, class_id: str | None) -> Classroom:
        """The class ``class_id`` (None: the first); a one-line error for one this server has
        not got."""
        class_id = class_id or MAIN_CLASS
        if class_id == MAIN_CLASS:
            return self.main
        if re.fullmatch(r"[a-z0-9-]{1,40}", class_id) and (self.sections_dir / class_id / "class.json").is_file():
            return self._room(class_id)
        raise RunError(_("no class {class_id} on this server; its classes are {names}").format(
                           class_id=f"{class_id!r}", names=", ".join(r.id for r in self.classes())))

    def _room(self, class_id: str) -> Classroom:
        with self._lock:
            if class_id not in self._rooms:
                self._rooms[class_id] = Classroom(self.runs_dir, teacher_token=self.teacher_token,
                                                  class_id=class_id)
            return self._rooms[class_id]

    def add_class(self, name: str) -> Classroom:
        """A new class named ``name`` (unique, whatever the case), with the first class's limits
        and language to start from; its id is made from the name ("Section B" -> section-b)."""
        name = clean_class_name(name)
        with FolderLock(self.main.dir / "course.lock"):
            rooms = self.classes()
            if any(r.name.casefold() == name.casefold() for r in rooms):
                raise RunError(_("there is a class named {name} already").format(name=f"{name!r}"))
            if len(rooms) >= MAX_CLASSES:
                raise RunError(_("a server holds at most {n} classes").format(n=MAX_CLASSES))
            base = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:30] or "class"
            taken = {r.id for r in rooms}
            class_id = next(c for c in [base, *(f"{base}-{i}" for i in range(2, 100))]
                            if c not in taken and c != ALL_CLASSES)
            room = self._room(class_id)
            room.state.limits = self.main.state.limits
            room.state.language = self.main.state.language
            room.set_name(name)  # writes class.json: the class exists for every replica from here
        return room

    # -- who is who, across the classes -----------------------------------------------------

    def teacher_cookie(self, token: str | None) -> str | None:
        """A session cookie for the server's teacher token (every class) or for a class's
        co-teacher or assistant link (that class); None for any other token."""
        from resnet_core.classroom.access import sign_session

        cookie = self.main.teacher_cookie(token)
        if cookie is not None or not token or "." not in token:
            return cookie
        for room in self.classes():
            user = room.staff_user(token)
            if user is not None:
                return sign_session(user, self.secret, generation=room.state.generation)
        return None

    def user_from_cookie(self, value: str | None) -> User | None:
        """The user of a session cookie, checked against their class: None for no cookie, a
        forged or old one (the class was reset), a student no longer on their class's roster, a
        revoked link's co-teacher or assistant, or a class that is gone."""
        user = read_session(value, self.secret, generation=self._generation)
        if user is None:
            return None
        if user.class_id == ALL_CLASSES:
            return user if user.is_teacher and user.id == "teacher" else None
        room = self.get(user.class_id)
        if user.role == "student":
            return user if user.id in room.state.roster else None
        return user if user.id in room.state.staff else None

    def _generation(self, class_id: str) -> int | None:
        try:
            return self.get(MAIN_CLASS if class_id == ALL_CLASSES else class_id).state.generation
        except RunError:
            return None

    def room_of(self, user: User) -> Classroom:
        """The class ``user`` belongs to (the first one for the server's teacher)."""
        try:
            return self.get(MAIN_CLASS if user.class_id == ALL_CLASSES else user.class_id)
        except RunError:
            return self.main

    def form_token(self, cookie: str | None, purpose: str) -> str:
        return self.main.form_token(cookie, purpose)

    def class_of_owner(self, owner_id: str) -> str | None:
        """The class whose roster holds ``owner_id`` (a student), else None."""
        return next((r.id for r in self.classes() if owner_id in r.state.roster), None)

    # -- what the job manager asks: the class the front door named decides ----------------------

    def check_submission(self, config, *, class_id: str | None = None, **counts) -> str | None:
        return self.get(class_id).check_submission(config, **counts)

    def check_shared(self, active_total: int, *, class_id: str | None = None, **counts) -> None:
        self.get(class_id).check_shared(active_total, **counts)


_COURSES: dict[Path, Course] = {}
_COURSES_LOCK = threading.Lock()


def course_for(runs_dir: str | Path) -> Course:
    """One Course per runs folder and process (the teacher token is made once)."""
    root = Path(runs_dir).resolve()
    with _COURSES_LOCK:
        if root not in _COURSES:
            _COURSES[root] = Course(root, main=classroom_for(root))
        return _COURSES[root]
