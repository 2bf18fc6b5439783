"""A class of students: its state (the roster, the limits, the lesson lock and the
challenge), kept in class.json, and what the teacher and the queue ask of it. The rules live
beside it: class.json's schema in ``state.py``, names and codes in ``roster.py``, limits,
challenges and the leaderboard in ``challenge.py``, the class list in ``class_list.py``,
co-teachers' and assistants' links in ``staff.py``; a server's several classes in
``course.py``.

``RESNET_WORKBENCH_MODE=class`` turns it on (``class_mode``). Its state lives in
``<runs>/.class/class.json`` (written atomically, so a restart keeps the roster, the limits
and an open challenge) beside ``secret``, the key that signs session cookies (0600). The
teacher token is never written anywhere: it comes from RESNET_WORKBENCH_TEACHER_TOKEN or is
generated when the server starts and printed once on its console.

``JobManager`` asks ``check_submission`` before it queues a student's run; the pages ask for
the leaderboard and the reveal. No Streamlit in here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from resnet_core.analysis.planning import check_memory
from resnet_core.atomic import atomic_write_json, atomic_write_text
from resnet_core.classroom.access import (
    ALL_CLASSES,
    MAIN_CLASS,
    User,
    read_session,
    sign_session,
    token_matches,
)
from resnet_core.classroom.actions import ActionLog
from resnet_core.classroom.challenge import (
    Challenge,
    ClassLimits,
    challenge_entries,
    check_entry,
    check_lesson_runs,
    new_challenge,
)
from resnet_core.classroom.class_list import Enrollment, enroll, listed
from resnet_core.classroom.roster import (
    WrongClassCode,
    clean_class_code,
    clean_class_name,
    clean_name,
    name_key,
    new_rejoin_entry,
    rejoin_code,
    rejoin_matches,
    shows_again,
)
from resnet_core.classroom.staff import link_user, new_link
from resnet_core.classroom.state import ClassState
from resnet_core.errors import ConfigError, RunError
from resnet_core.filelock import FolderLock, signature
from resnet_core.hosts import allowed_hosts  # noqa: F401 - classroom.allowed_hosts: the app's Host list
from resnet_core.i18n import LANGUAGES, _, pgettext
from resnet_core.settings import settings
from resnet_core.training.config import TrainConfig

CLASS_DIR = ".class"
SECTIONS_DIR = "sections"  # <runs>/.class/sections/<id>/: the classes a teacher adds (course.py)


def class_mode() -> bool:
    try:
        return settings().class_mode
    except ValueError as e:
        raise ConfigError(str(e)) from None


class Classroom:
    """The class of one runs folder. Thread-safe, and shared by every process that serves the
    folder (app replicas, issue 40): each change is made under a lock of the folder's on the
    newest class.json (``shared.FolderLock``), and ``state`` reads it again when another
    process wrote it. One per runs folder and process (``classroom_for``), like the job
    manager."""

    def __init__(self, runs_dir: str | Path, *, teacher_token: str | None = None,
                 class_id: str = MAIN_CLASS) -> None:
        self.id = class_id
        root = Path(runs_dir) / CLASS_DIR  # the first class's folder; the secret lives there
        self.dir = root if class_id == MAIN_CLASS else root / SECTIONS_DIR / class_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self._seen: tuple | None = None  # class.json as last read or written here
        self._state = ClassState()
        self._lock = FolderLock(self.dir / "class.lock", on_acquire=self._refresh)
        self.secret = self._secret(root)
        token = teacher_token or settings().teacher_token
        self.token_generated = not token
        self.teacher_token = token or secrets.token_urlsafe(24)
        self.actions = ActionLog(self.dir / "actions.jsonl")  # who changed what, when

    # -- persistence --------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self.dir / "class.json"

    @property
    def state(self) -> ClassState:
        """The class as class.json has it now (read again when another process wrote it)."""
        with self._lock.threads:  # not while a thread of ours is half way through a change
            self._refresh()
            return self._state

    @state.setter
    def state(self, value: ClassState) -> None:
        self._state = value

    def _refresh(self) -> None:
        seen = signature(self.path)
        if seen != self._seen:
            self._state, self._seen = self._load(), seen

    def _secret(self, root: Path) -> bytes:
        """The key that signs session cookies, one for every class of the folder: made once
        (under the first class's lock, so replicas starting together agree on it)."""
        path = root / "secret"
        if not path.exists():
            with FolderLock(root / "secret.lock"):
                if not path.exists():
                    atomic_write_text(path, secrets.token_hex(32), mode=0o600)  # private from the start
        return bytes.fromhex(path.read_text().strip())

    def _load(self) -> ClassState:
        from resnet_core.runs.jsonl import read_json

        return ClassState.from_dict(read_json(self.path) if self.path.exists() else {})

    def _save(self) -> None:
        # The server's user only: class.json holds the class code and the rejoin nonces.
        atomic_write_json(self.path, self.state.to_dict(), mode=0o600)
        self._seen = signature(self.path)  # our own write: nothing to read again

    # -- who is who ---------------------------------------------------------------------

    def teacher_cookie(self, token: str | None) -> str | None:
        """A teacher session cookie for the right token (constant-time check), else None."""
        if not token_matches(token, self.teacher_token):
            return None
        return sign_session(User("teacher", "Teacher", "teacher", ALL_CLASSES), self.secret,
                            generation=self.state.generation)

    def join(self, name: str, code: str | None = None, rejoin: str | None = None, *,
             address: str | None = None) -> tuple[User, str]:
        """A new student and their session cookie; a one-line error for a bad or taken name or
        a wrong class code. Names are unique after look-alikes are folded (``name_key``; no
        passwords: a name is who you are here). A taken name with its rejoin code is that
        student again (the same id, so their runs), and the code is used up. ``address`` (the
        gate's client address key) is kept: the names joined from one address share its
        runs at a time (``ClassLimits.active_per_address``)."""
        name = clean_name(name)
        key = name_key(name)
        with self._lock:
            wanted = self.state.class_code
            if wanted and not token_matches((code or "").strip(), wanted):
                raise WrongClassCode(_("that class code is not this class's; ask your teacher "
                                       "for it"))
            taken = next((sid for sid, n in self.state.roster.items() if name_key(n) == key), None)
            if taken is not None:
                if rejoin and rejoin_matches(self.secret, taken, self.state.rejoin.get(taken), rejoin):
                    del self.state.rejoin[taken]
                    if taken in self.state.enrolled:  # a reserved name's student is here
                        self.state.enrolled[taken]["joined"] = True
                    if address:
                        self.state.joined_from[taken] = address
                    self._save()
                    user = User(taken, self.state.roster[taken], "student", self.id)
                    return user, sign_session(user, self.secret, generation=self.state.generation)
                if rejoin:
                    raise ConfigError(_("that is a wrong rejoin code for {name} (each works "
                                        "once); ask your teacher for a new one").format(
                                          name=f"{name!r}"))
                raise ConfigError(_("the name {name} is taken in this class (or looks like "
                                    "{value}): choose another, or give its rejoin code").format(
                                      name=f"{name!r}", value=f"{self.state.roster[taken]!r}"))
            user = User(f"s-{secrets.token_hex(6)}", name, "student", self.id)
            self.state.roster[user.id] = name
            if address:
                self.state.joined_from[user.id] = address
            self._save()
        return user, sign_session(user, self.secret, generation=self.state.generation)

    def peers(self, student_id: str) -> frozenset[str]:
        """The student ids joined from the same address as ``student_id`` (itself included;
        alone when its address is not known)."""
        with self._lock:
            address = self.state.joined_from.get(student_id)
            if not address:
                return frozenset({student_id})
            return frozenset({sid for sid, a in self.state.joined_from.items()
                              if a == address and sid in self.state.roster} | {student_id})

    def rejoin_code(self, student_id: str, *, reissue: bool = False) -> str:
        """The one-time code that gets a student back to their name (and runs) after they
        signed out or lost their cookie. Minted once and shown again on every view until it is
        used (the sign-out page: a reload never voids the code just written down); ``reissue``
        (the teacher's "another code") mints a new one, which replaces the earlier. Who may
        ask for whose code is the front door's to decide."""
        with self._lock:
            if student_id not in self.state.roster:
                raise RunError(_("no student {student_id} in this class").format(
                                   student_id=f"{student_id!r}"))
            stored = self.state.rejoin.get(student_id)
            if reissue or not shows_again(stored):
                stored = new_rejoin_entry()
                self.state.rejoin[student_id] = stored
                self._save()
        return rejoin_code(self.secret, student_id, stored)

    def remove_student(self, student_id: str) -> None:
        """Take a name off the roster: its sessions end and the name is free again. Runs stay
        on disk; the caller stops the student's active ones."""
        with self._lock:
            if self.state.roster.pop(student_id, None) is None:
                raise RunError(_("no student {student_id} in this class").format(
                                   student_id=f"{student_id!r}"))
            self.state.joined_from.pop(student_id, None)
            self.state.rejoin.pop(student_id, None)
            self.state.enrolled.pop(student_id, None)
            for by_student in self.state.votes.values():
                by_student.pop(student_id, None)
            self._save()

    def import_class_list(self, enrollments: list[Enrollment]) -> list[dict]:
        """Reserve the names of a class list (``class_list.parse_class_list``): a name not on
        the roster yet is added, and only its rejoin code gets it; a name already there (a
        student who joined before the list came) keeps its id and runs. The school's id and
        email are kept for the gradebook. Returns one row per student of the list: name,
        student_id, email and the rejoin code to hand out ("" for a name already joined)."""
        with self._lock:
            sids = enroll(self.state, enrollments)
            self._save()
            return listed(self.state, self.secret, sids)

    def class_list(self) -> list[dict]:
        """The imported class list as the teacher prints it: name, student_id, email and the
        rejoin code still waiting to be used ("" once the student joined)."""
        with self._lock:
            return listed(self.state, self.secret)

    # -- predictions ----------------------------------------------------------------------

    def vote(self, student_id: str, lesson, choice: int) -> None:
        """Record a student's prediction for ``lesson`` (a Lesson): a newer one replaces theirs."""
        if not (isinstance(choice, int) and 0 <= choice < len(lesson.choices)):
            raise ConfigError(_("a prediction is one of the lesson's {choices} choices (0 to "
                                "{value}), got {choice}").format(
                                  choices=len(lesson.choices), value=len(lesson.choices) - 1, choice=f"{choice!r}"))
        with self._lock:
            if student_id not in self.state.roster:
                raise RunError(_("no student {student_id} in this class").format(
                                   student_id=f"{student_id!r}"))
            self.state.votes.setdefault(lesson.id, {})[student_id] = choice
            self._save()

    def tally(self, lesson) -> list[int]:
        """How many students predicted each of ``lesson``'s choices, in the choices' order."""
        with self._lock:
            picked = list(self.state.votes.get(lesson.id, {}).values())
        return [picked.count(i) for i in range(len(lesson.choices))]

    def form_token(self, cookie: str | None, purpose: str) -> str:
        """A token for a form of this session (sign-out): a page of another site cannot know
        it, so it cannot post the form for a user (CSRF)."""
        message = f"{purpose}|{cookie or ''}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:32]

    def user_from_cookie(self, value: str | None) -> User | None:
        """The user of a session cookie in this class; None for no cookie, a forged or old one,
        another class's, a student no longer on the roster (after a reset) or a revoked link's.
        (A server with several classes asks ``course.Course``.)"""
        user = read_session(value, self.secret, generation=self.state.generation)
        if user is None:
            return None
        if user.class_id == ALL_CLASSES:
            return user if user.is_teacher else None
        if user.class_id != self.id:
            return None
        if user.role == "student":
            return user if user.id in self.state.roster else None
        return user if user.id in self.state.staff else None

    # -- what the teacher sets (the front door checked it is the teacher) -------------------

    def set_limits(self, limits: ClassLimits) -> None:
        with self._lock:
            self.state.limits = limits.validate()
            self._save()

    def set_class_code(self, code: str | None) -> None:
        """None or "" for no code; else at least ``roster.MIN_CODE_LENGTH`` characters."""
        code = clean_class_code(code)
        with self._lock:
            self.state.class_code = code
            self._save()

    def lock_lesson(self, lesson_id: str | None) -> None:
        from resnet_core.classroom.lessons import LESSONS as LESSON_TABLE

        if lesson_id is not None and lesson_id not in LESSON_TABLE:
            raise ConfigError(_("lesson must be one of {names}, got {lesson_id}").format(
                                  names=', '.join(LESSON_TABLE), lesson_id=f"{lesson_id!r}"))
        with self._lock:
            self.state.locked_lesson = lesson_id
            self._save()

    @property
    def name(self) -> str:
        """The class's name as pages show it ("Section A"); the first class unnamed: "Class"."""
        return self.state.name or pgettext("navigation", "Class")

    def set_name(self, name: str) -> None:
        with self._lock:
            self.state.name = clean_class_name(name)
            self._save()

    # -- co-teachers and assistants (issue 40) --------------------------------------------

    def add_staff(self, role: str, name: str) -> str:
        """A link for a co-teacher or an assistant of this class: the token it carries (shown
        once; only its hash is kept). Whoever opens ``/?token=<it>`` is signed in as ``name``
        with ``role``, for this class only, until the link is revoked."""
        link_id, token, entry = new_link(role, name)
        with self._lock:
            self.state.staff[link_id] = entry
            self._save()
        return token

    def revoke_staff(self, link_id: str) -> str:
        """End a co-teacher's or assistant's link: their sessions end at once. Their name."""
        with self._lock:
            link = self.state.staff.pop(link_id, None)
            if link is None:
                raise RunError(_("no link {link_id} in this class").format(link_id=f"{link_id!r}"))
            self._save()
        return link["name"]

    def staff_user(self, token: str) -> User | None:
        """The co-teacher or assistant a link's token names, or None."""
        return link_user(self.state.staff, token, self.id)

    def set_language(self, tag: str | None) -> None:
        """The class's language ("en", "zh-CN"), or None for each browser's own."""
        if tag is not None and tag not in LANGUAGES:
            raise ConfigError(_("language must be one of {names}, got {tag}").format(
                                  names=', '.join(LANGUAGES), tag=f"{tag!r}"))
        with self._lock:
            self.state.language = tag
            self._save()

    def reset(self) -> None:
        """Forget the roster (every student joins again), lift the lock, close the challenge.
        Runs stay on disk: nothing trained is lost. The caller stops students' active runs."""
        with self._lock:
            self.state = ClassState(limits=self.state.limits, class_code=self.state.class_code,
                                    generation=self.state.generation + 1, name=self.state.name,
                                    staff=self.state.staff)
            self._save()

    def open_challenge(self, dataset: str, minutes: float, *, anonymous: bool = False,
                       limits: ClassLimits | None = None) -> Challenge:
        challenge = new_challenge(dataset, minutes, limits or self.state.limits, anonymous=anonymous)
        with self._lock:
            self.state.challenge = challenge
            self._save()
        return challenge

    def close_challenge(self, *, reveal: bool = False) -> None:
        """Close now (and, with ``reveal``, show every entry's configuration)."""
        with self._lock:
            c = self.state.challenge
            if c is None:
                raise RunError(_("no challenge is open"))
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self.state.challenge = replace(c, closes_at=min(c.closes_at, now), revealed=reveal or c.revealed)
            self._save()

    # -- what the job manager asks --------------------------------------------------------

    def check_submission(self, config: TrainConfig, *, limited: bool, active_of_owner: int,
                         active_total: int, active_of_address: int = 0,
                         class_id: str | None = None) -> str | None:
        """Refuse (one-line error) what may not be queued now; the challenge id a limited
        run (a student's: the front door decides) enters, else None. An unlimited run (the
        teacher's) is bound only by free memory. ``active_of_address``: the active runs of
        every name joined from the submitter's address. Nothing here asks who is acting.
        (``class_id`` is the course's, which picks this class: ``course.Course``.)"""
        if not limited:
            check_memory(config)
            return None
        with self._lock:
            c, limits = self.state.challenge, self.state.limits
        return check_entry(c, limits, config, active_of_owner=active_of_owner,
                           active_of_address=active_of_address, active_total=active_total)

    def check_shared(self, active_total: int, *, limited: bool, queued_by_active: int = 0,
                     adding: int = 1, class_id: str | None = None) -> None:
        """For ``adding`` shared (lesson) runs a member's click queues: the queue cap, and when
        ``limited`` (a student's click) the lesson runs their clicks may have queued or
        running at once."""
        check_lesson_runs(self.state.limits, active_total, limited=limited,
                          queued_by_active=queued_by_active, adding=adding)

    # -- the leaderboard --------------------------------------------------------------------

    def entries(self, store) -> list[dict]:
        """The open (or last) challenge's entries, best first (``challenge.challenge_entries``)."""
        return challenge_entries(self.state.challenge, store)


_CLASSROOMS: dict[Path, Classroom] = {}
_CLASSROOMS_LOCK = threading.Lock()


def classroom_for(runs_dir: str | Path) -> Classroom:
    """One Classroom per runs folder and process (the teacher token is made once)."""
    root = Path(runs_dir).resolve()
    with _CLASSROOMS_LOCK:
        if root not in _CLASSROOMS:
            _CLASSROOMS[root] = Classroom(root)
        return _CLASSROOMS[root]



