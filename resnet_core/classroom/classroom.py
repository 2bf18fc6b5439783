"""A class of students on one server: its state (the roster, the limits, the lesson lock and
the challenge), kept in class.json, and what the teacher and the queue ask of it. The rules
live beside it: names and codes in ``roster.py``, limits, challenges and the leaderboard in
``challenge.py``.

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
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from resnet_core.analysis.planning import check_memory
from resnet_core.atomic import atomic_write_json, atomic_write_text
from resnet_core.classroom.access import (
    User,
    read_session,
    sign_session,
    token_matches,
)
from resnet_core.classroom.actions import ActionLog
from resnet_core.classroom.challenge import (
    CHALLENGE_MINUTES,
    Challenge,
    ClassLimits,
    challenge_entries,
    check_queue,
)
from resnet_core.classroom.class_list import Enrollment
from resnet_core.classroom.roster import (
    WrongClassCode,
    clean_class_code,
    clean_name,
    name_key,
    new_rejoin_entry,
    rejoin_code,
    rejoin_matches,
    shows_again,
)
from resnet_core.data.registry import BUILT_IN
from resnet_core.errors import ConfigError, RunError
from resnet_core.filelock import FolderLock, signature
from resnet_core.hosts import allowed_hosts  # noqa: F401 - classroom.allowed_hosts: the app's Host list
from resnet_core.i18n import LANGUAGES, _, pick
from resnet_core.settings import settings
from resnet_core.training.config import TrainConfig

CLASS_DIR = ".class"


def class_mode() -> bool:
    try:
        return settings().class_mode
    except ValueError as e:
        raise ConfigError(str(e)) from None


@dataclass
class ClassState:
    limits: ClassLimits = field(default_factory=ClassLimits)
    locked_lesson: str | None = None  # students see this lesson and nothing else
    class_code: str | None = None  # optional; students type it to join
    roster: dict[str, str] = field(default_factory=dict)  # student id -> display name
    rejoin: dict[str, str] = field(default_factory=dict)  # student id -> the rejoin code's nonce
    joined_from: dict[str, str] = field(default_factory=dict)  # student id -> address key, last join
    challenge: Challenge | None = None
    # lesson id -> student id -> the choice they locked in: the teacher sees the tally before
    # the runs reveal the answer (issue 38, item 16)
    votes: dict[str, dict[str, int]] = field(default_factory=dict)
    # The class's language (issue 39): what its pages, its join page and its lessons speak to a
    # student who has not chosen one; None: each browser's own, then the server's default
    language: str | None = None
    # student id -> {"student_id", "email"}: the school's ids from an imported class list
    # (issue 40), for the gradebook; a name joined without a list has none
    enrolled: dict[str, dict] = field(default_factory=dict)
    generation: int = 0  # bumped by reset: older session cookies read as nobody


class Classroom:
    """The class of one runs folder. Thread-safe, and shared by every process that serves the
    folder (app replicas, issue 40): each change is made under a lock of the folder's on the
    newest class.json (``shared.FolderLock``), and ``state`` reads it again when another
    process wrote it. One per runs folder and process (``classroom_for``), like the job
    manager."""

    def __init__(self, runs_dir: str | Path, *, teacher_token: str | None = None) -> None:
        self.dir = Path(runs_dir) / CLASS_DIR
        self.dir.mkdir(parents=True, exist_ok=True)
        self._seen: tuple | None = None  # class.json as last read or written here
        self._state = ClassState()
        self._lock = FolderLock(self.dir / "class.lock", on_acquire=self._refresh)
        with self._lock:
            self.secret = self._secret()
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

    def _secret(self) -> bytes:
        """The key that signs session cookies: made once (under the folder's lock, so replicas
        starting together agree on it)."""
        path = self.dir / "secret"
        if not path.exists():
            atomic_write_text(path, secrets.token_hex(32), mode=0o600)  # private from the start
        return bytes.fromhex(path.read_text().strip())

    def _load(self) -> ClassState:
        from resnet_core.runs.jsonl import read_json

        data = read_json(self.path) if self.path.exists() else {}
        challenge = data.get("challenge")
        return ClassState(limits=ClassLimits.from_dict(data.get("limits") or {}).validate(),
                          locked_lesson=data.get("locked_lesson"), class_code=data.get("class_code"),
                          roster=dict(data.get("roster") or {}),
                          rejoin=dict(data.get("rejoin") or {}),
                          joined_from=dict(data.get("joined_from") or {}),
                          challenge=Challenge.from_dict(challenge) if challenge else None,
                          votes={lesson: {who: int(c) for who, c in dict(by).items()}
                                 for lesson, by in dict(data.get("votes") or {}).items()},
                          language=pick(data.get("language")),
                          enrolled={sid: dict(e) for sid, e in dict(data.get("enrolled") or {}).items()},
                          generation=int(data.get("generation") or 0))

    def _save(self) -> None:
        s = self.state
        # The server's user only: class.json holds the class code and the rejoin nonces.
        atomic_write_json(self.path, mode=0o600, obj={
            "limits": asdict(s.limits), "locked_lesson": s.locked_lesson, "class_code": s.class_code,
            "roster": s.roster, "rejoin": s.rejoin, "joined_from": s.joined_from,
            "challenge": s.challenge.to_dict() if s.challenge else None,
            "votes": s.votes, "language": s.language, "enrolled": s.enrolled,
            "generation": s.generation})
        self._seen = signature(self.path)  # our own write: nothing to read again

    # -- who is who ---------------------------------------------------------------------

    def teacher_cookie(self, token: str | None) -> str | None:
        """A teacher session cookie for the right token (constant-time check), else None."""
        if not token_matches(token, self.teacher_token):
            return None
        return sign_session(User("teacher", "Teacher", "teacher"), self.secret,
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
                    user = User(taken, self.state.roster[taken], "student")
                    return user, sign_session(user, self.secret, generation=self.state.generation)
                if rejoin:
                    raise ConfigError(_("that is a wrong rejoin code for {name} (each works "
                                        "once); ask your teacher for a new one").format(
                                          name=f"{name!r}"))
                raise ConfigError(_("the name {name} is taken in this class (or looks like "
                                    "{value}): choose another, or give its rejoin code").format(
                                      name=f"{name!r}", value=f"{self.state.roster[taken]!r}"))
            user = User(f"s-{secrets.token_hex(6)}", name, "student")
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
            by_key = {name_key(n): sid for sid, n in self.state.roster.items()}
            rows = []
            for e in enrollments:
                sid = by_key.get(name_key(e.name))
                if sid is None:  # reserved: the name waits for its student and their code
                    sid = f"s-{secrets.token_hex(6)}"
                    self.state.roster[sid] = e.name
                    self.state.rejoin[sid] = new_rejoin_entry()
                    joined = False
                else:  # on the roster: joined by themself, or reserved by an earlier list
                    joined = self.state.enrolled.get(sid, {}).get("joined", True)
                self.state.enrolled[sid] = {**e.to_dict(), "joined": joined}
                rows.append({"name": self.state.roster[sid], "student_id": e.student_id, "email": e.email,
                             "sid": sid})
            self._save()
        return [{"name": r["name"], "student_id": r["student_id"], "email": r["email"],
                 "rejoin_code": self._waiting_code(r["sid"])} for r in rows]

    def class_list(self) -> list[dict]:
        """The imported class list as the teacher prints it: name, student_id, email and the
        rejoin code still waiting to be used ("" once the student joined)."""
        with self._lock:
            ids = sorted(self.state.enrolled, key=lambda sid: self.state.roster.get(sid, "").casefold())
            return [{"name": self.state.roster[sid], "student_id": self.state.enrolled[sid].get("student_id", ""),
                     "email": self.state.enrolled[sid].get("email", ""), "rejoin_code": self._waiting_code(sid)}
                    for sid in ids if sid in self.state.roster]

    def _waiting_code(self, sid: str) -> str:
        entry = self.state.rejoin.get(sid)
        if self.state.enrolled.get(sid, {}).get("joined") or not shows_again(entry):
            return ""
        return rejoin_code(self.secret, sid, entry)

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
        """The user of a session cookie; None for no cookie, a forged or old one, or a student
        no longer on the roster (after a reset)."""
        user = read_session(value, self.secret, generation=self.state.generation)
        if user is None or (user.role == "student" and user.id not in self.state.roster):
            return None
        return user

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
                                    generation=self.state.generation + 1)
            self._save()

    def open_challenge(self, dataset: str, minutes: float, *, anonymous: bool = False,
                       limits: ClassLimits | None = None) -> Challenge:
        if dataset not in BUILT_IN:
            raise ConfigError(_("a challenge's dataset is one of {names}, got {dataset}").format(
                                  names=', '.join(BUILT_IN), dataset=f"{dataset!r}"))
        if not CHALLENGE_MINUTES[0] <= minutes <= CHALLENGE_MINUTES[1]:
            raise ConfigError(_("a challenge lasts 1 minute to 7 days, got {minutes} minutes").format(
                                  minutes=minutes))
        closes = datetime.now(timezone.utc) + timedelta(minutes=minutes)
        challenge = Challenge(id=f"c-{secrets.token_hex(4)}", dataset=dataset,
                              closes_at=closes.isoformat(timespec="seconds"),
                              limits=(limits or self.state.limits).validate(), anonymous=anonymous)
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
                         active_total: int, active_of_address: int = 0) -> str | None:
        """Refuse (one-line error) what may not be queued now; the challenge id a limited
        run (a student's: the front door decides) enters, else None. An unlimited run (the
        teacher's) is bound only by free memory. ``active_of_address``: the active runs of
        every name joined from the submitter's address. Nothing here asks who is acting."""
        if not limited:
            check_memory(config)
            return None
        with self._lock:
            c, limits = self.state.challenge, self.state.limits
        if c is None or not c.is_open():
            raise RunError(_("students submit runs during a class challenge; none is open now"))
        if config.dataset != c.dataset:
            raise ConfigError(_("this challenge trains on {dataset}, got {dataset2}").format(
                                  dataset=c.dataset, dataset2=config.dataset))
        c.limits.check(config)  # before the memory estimate: it builds the model asked for
        check_memory(config)
        if active_of_owner >= c.limits.active_per_student:
            raise RunError(_("you have {active_of_owner} run(s) queued or running; the class "
                             "allows {active_per_student} at a time: wait for it or stop it").format(
                               active_of_owner=active_of_owner, active_per_student=c.limits.active_per_student))
        if active_of_address >= c.limits.active_per_address:
            raise RunError(_("the names joined from your address have {active_of_address} "
                             "run(s) queued or running; the class allows {active_per_address} "
                             "per address at a time: wait for one to finish, or ask your teacher").format(
                               active_of_address=active_of_address, active_per_address=c.limits.active_per_address))
        check_queue(limits, active_total)
        return c.id

    def check_shared(self, active_total: int, *, limited: bool, queued_by_active: int = 0,
                     adding: int = 1) -> None:
        """For ``adding`` shared (lesson) runs a member's click queues: the queue cap, and when
        ``limited`` (a student's click) the lesson runs their clicks may have queued or
        running at once."""
        limits = self.state.limits
        if limited:
            if queued_by_active + adding > limits.lesson_runs_per_student:
                raise RunError(_("lesson runs you started are {queued_by_active} queued or "
                                 "running and the class allows {lesson_runs_per_student} at a "
                                 "time; wait for them to finish (or watch a classmate's)").format(
                                   queued_by_active=queued_by_active, lesson_runs_per_student=limits.lesson_runs_per_student))
        check_queue(limits, active_total)

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



