"""A class of students on one server: the roster, the limits, the lesson lock and the challenge.

``RESNET_WORKBENCH_MODE=class`` turns it on (``class_mode``). Its state lives in
``<runs>/.class/class.json`` (written atomically, so a restart keeps the roster, the limits
and an open challenge) beside ``secret``, the key that signs session cookies (0600). The
teacher token is never written anywhere: it comes from RESNET_WORKBENCH_TEACHER_TOKEN or is
generated when the server starts and printed once on its console.

``JobManager`` asks ``check_submission`` before it queues a student's run; the pages ask for
the leaderboard and the reveal. No Streamlit in here.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import threading
import unicodedata
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from resnet_core.atomic import atomic_write_json, atomic_write_text
from resnet_core.classroom.access import (
    LESSONS,
    User,
    read_session,
    require_teacher,
    sign_session,
    token_matches,
)
from resnet_core.data.registry import DATASETS
from resnet_core.errors import ConfigError, RunError
from resnet_core.settings import settings
from resnet_core.training.config import MAXIMUMS, TrainConfig
from resnet_core.training.models import ARCHS

CLASS_DIR = ".class"
NAME_PATTERN = re.compile(r"^[\w .'-]{1,32}$")
# Words a student's name may not be (after look-alikes are folded): the roles, the owners the
# pages show, and what tables say instead of a name.
RESERVED_NAMES = frozenset({"teacher", "you", "me", LESSONS.name.lower(), "lessons", "local",
                            "admin", "administrator", "student", "students", "nobody",
                            "everyone", "not joined", "server", "class", "system"})
MIN_CODE_LENGTH = 8  # a class code: 8+ characters (a 4-digit code fell in 11 s without a limit)
REJOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud, typed by hand
REJOIN_NONCE = "n:"  # class.json's rejoin entry: "n:" + a nonce the code is derived from


def class_mode() -> bool:
    try:
        return settings().class_mode
    except ValueError as e:
        raise ConfigError(str(e)) from None


@dataclass(frozen=True)
class ClassLimits:
    """What a student may submit; the teacher's own runs are not limited."""

    architectures: tuple[str, ...] = ("resnet20", "resnet32", "resnet44", "resnet56")
    max_epochs: int = 30
    max_steps: int = 3000
    max_image_size: int = 64
    max_batch_size: int = 512
    active_per_student: int = 1  # queued or running
    lesson_runs_per_student: int = 7  # shared lesson runs a student's clicks have going (a lesson's set)
    queue_cap: int = 40  # queued or running runs on the server, everyone's together

    def validate(self) -> ClassLimits:
        unknown = [a for a in self.architectures if a not in ARCHS]
        if unknown or not self.architectures:
            raise ConfigError(f"architectures must be some of {', '.join(ARCHS)}; got {unknown or 'none'}")
        for name, top in (("max_epochs", MAXIMUMS["epochs"]), ("max_steps", MAXIMUMS["max_steps"]),
                          ("max_image_size", MAXIMUMS["image_size"]),
                          ("max_batch_size", MAXIMUMS["batch_size"]), ("active_per_student", 100),
                          ("lesson_runs_per_student", 100),
                          ("queue_cap", 10_000)):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= top:
                raise ConfigError(f"{name} must be a whole number from 1 to {top:,}, got {value!r}")
        return self

    def check(self, config: TrainConfig) -> None:
        """A one-line error naming what is accepted, for the first setting out of bounds."""
        if config.arch not in self.architectures:
            raise ConfigError(f"this class allows the architectures {', '.join(self.architectures)}; "
                              f"got {config.arch}")
        size = config.image_size or DATASETS[config.dataset].image_size or 64
        for name, value, top in (("epochs", config.epochs, self.max_epochs),
                                 ("max_steps", config.max_steps, self.max_steps),
                                 ("image_size", size, self.max_image_size),
                                 ("batch_size", config.batch_size, self.max_batch_size)):
            if value is not None and value > top:
                raise ConfigError(f"this class allows {name} up to {top:,}; got {value:,}")
        if config.epochs is None and config.max_steps is None:
            raise ConfigError(f"give epochs (up to {self.max_epochs}) or max_steps (up to {self.max_steps})")

    @classmethod
    def from_dict(cls, data: dict) -> ClassLimits:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "architectures" in values:
            values["architectures"] = tuple(values["architectures"])
        return cls(**values)


@dataclass(frozen=True)
class Challenge:
    """One class challenge: a dataset, limits, a closing time; entries are students' runs."""

    id: str
    dataset: str
    closes_at: str  # ISO 8601, UTC
    limits: ClassLimits = field(default_factory=ClassLimits)
    metric: str = "test_accuracy"  # ranked by it (higher first), then by training time
    anonymous: bool = False  # the leaderboard shows "Student 1, 2, ..." instead of names
    revealed: bool = False  # after closing, the teacher shows every entry's configuration

    def is_open(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(timezone.utc)) < datetime.fromisoformat(self.closes_at)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Challenge:
        return cls(**{**data, "limits": ClassLimits.from_dict(data.get("limits") or {})})


@dataclass
class ClassState:
    limits: ClassLimits = field(default_factory=ClassLimits)
    locked_lesson: str | None = None  # students see this lesson and nothing else
    class_code: str | None = None  # optional; students type it to join
    roster: dict[str, str] = field(default_factory=dict)  # student id -> display name
    rejoin: dict[str, str] = field(default_factory=dict)  # student id -> the rejoin code's nonce
    challenge: Challenge | None = None
    generation: int = 0  # bumped by reset: older session cookies read as nobody


class Classroom:
    """The class of one runs folder. Thread-safe; one per runs folder and process
    (``classroom_for``), like the job manager."""

    def __init__(self, runs_dir: str | Path, *, teacher_token: str | None = None) -> None:
        self.dir = Path(runs_dir) / CLASS_DIR
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.secret = self._secret()
        token = teacher_token or settings().teacher_token
        self.token_generated = not token
        self.teacher_token = token or secrets.token_urlsafe(24)
        self.state = self._load()

    # -- persistence --------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self.dir / "class.json"

    def _secret(self) -> bytes:
        path = self.dir / "secret"
        if not path.exists():
            atomic_write_text(path, secrets.token_hex(32))
            path.chmod(0o600)
        return bytes.fromhex(path.read_text().strip())

    def _load(self) -> ClassState:
        from resnet_core.runs.jsonl import read_json

        data = read_json(self.path) if self.path.exists() else {}
        challenge = data.get("challenge")
        return ClassState(limits=ClassLimits.from_dict(data.get("limits") or {}).validate(),
                          locked_lesson=data.get("locked_lesson"), class_code=data.get("class_code"),
                          roster=dict(data.get("roster") or {}),
                          rejoin=dict(data.get("rejoin") or {}),
                          challenge=Challenge.from_dict(challenge) if challenge else None,
                          generation=int(data.get("generation") or 0))

    def _save(self) -> None:
        s = self.state
        atomic_write_json(self.path, {
            "limits": asdict(s.limits), "locked_lesson": s.locked_lesson, "class_code": s.class_code,
            "roster": s.roster, "rejoin": s.rejoin,
            "challenge": s.challenge.to_dict() if s.challenge else None,
            "generation": s.generation})

    # -- who is who ---------------------------------------------------------------------

    def teacher_cookie(self, token: str | None) -> str | None:
        """A teacher session cookie for the right token (constant-time check), else None."""
        if not token_matches(token, self.teacher_token):
            return None
        return sign_session(User("teacher", "Teacher", "teacher"), self.secret,
                            generation=self.state.generation)

    def join(self, name: str, code: str | None = None, rejoin: str | None = None) -> tuple[User, str]:
        """A new student and their session cookie; a one-line error for a bad or taken name or
        a wrong class code. Names are unique after look-alikes are folded (``name_key``; no
        passwords: a name is who you are here). A taken name with its rejoin code is that
        student again (the same id, so their runs), and the code is used up."""
        name = " ".join(unicodedata.normalize("NFKC", str(name)).split())
        if not NAME_PATTERN.match(name):
            raise ConfigError("a display name is 1 to 32 letters, digits, spaces, dots, dashes "
                              "or apostrophes")
        key = name_key(name)
        if key in _reserved_keys():
            raise ConfigError(f"{name!r} is reserved (or looks like a reserved word); choose another name")
        with self._lock:
            wanted = self.state.class_code
            if wanted and not token_matches((code or "").strip(), wanted):
                raise WrongClassCode("that class code is not this class's; ask your teacher for it")
            taken = next((sid for sid, n in self.state.roster.items() if name_key(n) == key), None)
            if taken is not None:
                if rejoin and self._rejoin_matches(taken, rejoin):
                    del self.state.rejoin[taken]
                    self._save()
                    user = User(taken, self.state.roster[taken], "student")
                    return user, sign_session(user, self.secret, generation=self.state.generation)
                if rejoin:
                    raise ConfigError(f"that is a wrong rejoin code for {name!r} (each works "
                                      "once); ask your teacher for a new one")
                raise ConfigError(f"the name {name!r} is taken in this class (or looks like "
                                  f"{self.state.roster[taken]!r}): choose another, or give its "
                                  "rejoin code")
            user = User(f"s-{secrets.token_hex(6)}", name, "student")
            self.state.roster[user.id] = name
            self._save()
        return user, sign_session(user, self.secret, generation=self.state.generation)

    def rejoin_code(self, user: User, student_id: str | None = None) -> str:
        """The one-time code that gets a student back to their name (and runs) after they
        signed out or lost their cookie. A student asks for their own (the sign-out page
        shows it): the code is minted once and shown again on every view until it is used,
        so a reload never voids the code just written down. The teacher asks for anyone's and
        always gets a new one, which replaces the earlier code."""
        student_id = student_id or user.id
        if not (user.is_teacher or (user.role == "student" and user.id == student_id)):
            require_teacher(user, "make another student's rejoin code")
        with self._lock:
            if student_id not in self.state.roster:
                raise RunError(f"no student {student_id!r} in this class")
            stored = self.state.rejoin.get(student_id, "")
            if not user.is_teacher and stored.startswith(REJOIN_NONCE):
                return self._rejoin_from(student_id, stored)
            stored = REJOIN_NONCE + secrets.token_hex(16)
            self.state.rejoin[student_id] = stored
            self._save()
        return self._rejoin_from(student_id, stored)

    def _rejoin_from(self, student_id: str, stored: str) -> str:
        """The code a stored nonce stands for: HMAC of the student and the nonce under the
        class's secret (class.json alone does not give it away), as 3 groups of 4."""
        digest = hmac.new(self.secret, f"rejoin|{student_id}|{stored}".encode(), hashlib.sha256).digest()
        letters = "".join(REJOIN_ALPHABET[b % len(REJOIN_ALPHABET)] for b in digest[:12])
        return "-".join(letters[i:i + 4] for i in (0, 4, 8))

    def _rejoin_matches(self, student_id: str, code: str) -> bool:
        stored = self.state.rejoin.get(student_id)
        given = code.strip().upper().replace(" ", "")
        if stored is None:
            return False
        if stored.startswith(REJOIN_NONCE):
            return token_matches(given, self._rejoin_from(student_id, stored))
        return token_matches(_digest(given), stored)  # a code minted before issue 36 (sha256)

    def remove_student(self, user: User, student_id: str) -> None:
        """Take a name off the roster: its sessions end and the name is free again. Runs stay
        on disk; the caller stops the student's active ones."""
        require_teacher(user, "remove a student")
        with self._lock:
            if self.state.roster.pop(student_id, None) is None:
                raise RunError(f"no student {student_id!r} in this class")
            self.state.rejoin.pop(student_id, None)
            self._save()

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

    # -- what the teacher sets ----------------------------------------------------------

    def set_limits(self, user: User, limits: ClassLimits) -> None:
        require_teacher(user, "change the limits")
        with self._lock:
            self.state.limits = limits.validate()
            self._save()

    def set_class_code(self, user: User, code: str | None) -> None:
        """None or "" for no code; else at least MIN_CODE_LENGTH characters (wrong codes are
        also rate-limited per address by the gate)."""
        require_teacher(user, "set the class code")
        code = (code or "").strip() or None
        if code is not None and len(code) < MIN_CODE_LENGTH:
            raise ConfigError(f"a class code has at least {MIN_CODE_LENGTH} characters (try "
                              f"{new_class_code()!r}); got {len(code)}")
        with self._lock:
            self.state.class_code = code
            self._save()

    def lock_lesson(self, user: User, lesson_id: str | None) -> None:
        from resnet_core.classroom.lessons import LESSONS as LESSON_TABLE

        require_teacher(user, "lock the class to a lesson")
        if lesson_id is not None and lesson_id not in LESSON_TABLE:
            raise ConfigError(f"lesson must be one of {', '.join(LESSON_TABLE)}, got {lesson_id!r}")
        with self._lock:
            self.state.locked_lesson = lesson_id
            self._save()

    def reset(self, user: User) -> None:
        """Forget the roster (every student joins again), lift the lock, close the challenge.
        Runs stay on disk: nothing trained is lost. The caller stops students' active runs."""
        require_teacher(user, "reset the class")
        with self._lock:
            self.state = ClassState(limits=self.state.limits, class_code=self.state.class_code,
                                    generation=self.state.generation + 1)
            self._save()

    def open_challenge(self, user: User, dataset: str, minutes: float, *, anonymous: bool = False,
                       limits: ClassLimits | None = None) -> Challenge:
        require_teacher(user, "open a challenge")
        if dataset not in DATASETS or DATASETS[dataset].source == "folder":
            built_in = [n for n, s in DATASETS.items() if s.source != "folder"]
            raise ConfigError(f"a challenge's dataset is one of {', '.join(built_in)}, got {dataset!r}")
        if not 1 <= minutes <= 7 * 24 * 60:
            raise ConfigError(f"a challenge lasts 1 minute to 7 days, got {minutes} minutes")
        closes = datetime.now(timezone.utc) + timedelta(minutes=minutes)
        challenge = Challenge(id=f"c-{secrets.token_hex(4)}", dataset=dataset,
                              closes_at=closes.isoformat(timespec="seconds"),
                              limits=(limits or self.state.limits).validate(), anonymous=anonymous)
        with self._lock:
            self.state.challenge = challenge
            self._save()
        return challenge

    def close_challenge(self, user: User, *, reveal: bool = False) -> None:
        """Close now (and, with ``reveal``, show every entry's configuration)."""
        require_teacher(user, "close the challenge")
        with self._lock:
            c = self.state.challenge
            if c is None:
                raise RunError("no challenge is open")
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self.state.challenge = replace(c, closes_at=min(c.closes_at, now), revealed=reveal or c.revealed)
            self._save()

    # -- what the job manager asks --------------------------------------------------------

    def check_submission(self, config: TrainConfig, *, limited: bool, active_of_owner: int,
                         active_total: int) -> str | None:
        """Refuse (one-line error) what may not be queued now; the challenge id a limited
        run (a student's: the front door decides) enters, else None. An unlimited run (the
        teacher's) is bound only by free memory. Nothing here asks who is acting."""
        if not limited:
            _check_memory(config)
            return None
        with self._lock:
            c, limits = self.state.challenge, self.state.limits
        if c is None or not c.is_open():
            raise RunError("students submit runs during a class challenge; none is open now")
        if config.dataset != c.dataset:
            raise ConfigError(f"this challenge trains on {c.dataset}, got {config.dataset}")
        c.limits.check(config)  # before the memory estimate: it builds the model asked for
        _check_memory(config)
        if active_of_owner >= c.limits.active_per_student:
            raise RunError(f"you have {active_of_owner} run(s) queued or running; the class allows "
                           f"{c.limits.active_per_student} at a time: wait for it or stop it")
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
                raise RunError(f"lesson runs you started are {queued_by_active} queued or running "
                               f"and the class allows {limits.lesson_runs_per_student} at a time; "
                               "wait for them to finish (or watch a classmate's)")
        check_queue(limits, active_total)

    # -- the leaderboard --------------------------------------------------------------------

    def entries(self, store) -> list[dict]:
        """The challenge's entries, best first: test accuracy (higher), then training seconds
        (fewer); runs without a result yet follow."""
        c = self.state.challenge
        if c is None:
            return []
        rows = []
        for run in store.runs():
            job = run.job
            if job.challenge != c.id or job.held_by is not None:  # the teacher stopped it
                continue
            rows.append({"run_id": run.id, "owner_id": job.owner.id, "name": job.owner.name,
                         "state": run.state, **run.result(), "config": run.config})
        rows.sort(key=lambda r: (r["test_accuracy"] is None, -(r["test_accuracy"] or 0),
                                 r["train_seconds"] or 0))
        if c.anonymous:
            aliases: dict[str, str] = {}
            for row in sorted(rows, key=lambda r: r["run_id"]):
                aliases.setdefault(row["owner_id"], f"Student {len(aliases) + 1}")
            for row in rows:
                row["name"] = aliases[row["owner_id"]]
        for rank, row in enumerate(rows, 1):
            row["rank"] = rank if row["test_accuracy"] is not None else None
        return rows


class WrongClassCode(ConfigError):
    """A join with a class code that is not this class's (the gate counts these)."""


def new_class_code() -> str:
    """A class code to read out: ten characters, no look-alike letters or digits."""
    return _random_code(10).lower()


def _random_code(length: int) -> str:
    return "".join(secrets.choice(REJOIN_ALPHABET) for _ in range(length))


def name_key(name: str) -> str:
    """What two names are compared by: Unicode NFKC, then every character that looks like a
    Latin letter or digit (Unicode's confusables: Greek Τ, Cyrillic А, 1 and l, O and 0) as one
    representative of its look-alikes, case-folded, spaces collapsed. "Τeacher",
    "ＴＥＡＣＨＥＲ" and "teacher" are one key; so are "Alice", "Аlice" and "A1ice"."""
    table = _look_alikes()
    folded = "".join(table.get(ch) or table.get(ch.casefold()) or ch.casefold()
                     for ch in unicodedata.normalize("NFKC", name))
    return " ".join(folded.split())


@functools.lru_cache(maxsize=1)
def _look_alikes() -> dict[str, str]:
    """Character -> the smallest ASCII letter or digit among everything it looks like (the
    look-alike relation closed transitively and over case, so the key is the same whichever
    member a name uses)."""
    import string

    from confusable_homoglyphs.confusables import confusables_data

    parent: dict[str, str] = {}

    def find(c: str) -> str:
        while parent.setdefault(c, c) != c:
            c = parent[c]
        return c

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for ch, glyphs in confusables_data.items():
        for g in glyphs:
            if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalnum():
                union(ch, g["c"])
    for c in string.ascii_letters:
        union(c, c.casefold())
    members: dict[str, list[str]] = {}
    for c in parent:
        members.setdefault(find(c), []).append(c)
    table = {}
    for group in members.values():
        ascii_members = [c.casefold() for c in group if c.isascii() and c.isalnum()]
        if ascii_members and len(group) > 1:
            rep = min(ascii_members)
            table.update({c: rep for c in group if c != rep})
    return table


@functools.lru_cache(maxsize=1)
def _reserved_keys() -> frozenset[str]:
    return frozenset(name_key(w) for w in RESERVED_NAMES)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def leaderboard(entries: list[dict]) -> list[dict]:
    """One row per student, their best entry (``entries`` is best first), ranked."""
    best: dict[str, dict] = {}
    counts: dict[str, int] = {}
    for row in entries:
        counts[row["owner_id"]] = counts.get(row["owner_id"], 0) + 1
        if row["test_accuracy"] is not None:
            best.setdefault(row["owner_id"], row)
    rows = [{"rank": rank, "name": row["name"], "test_accuracy": row["test_accuracy"],
             "train_seconds": row["train_seconds"], "run_id": row["run_id"],
             "entries": counts[row["owner_id"]]}
            for rank, row in enumerate(best.values(), 1)]
    return rows


# Settings a student may choose in a challenge; the rest of a config is the same for all.
CHALLENGE_FIELDS = ("arch", "optimizer", "lr", "scheduler", "batch_size", "epochs", "max_steps",
                    "augment", "weight_decay", "momentum", "label_smoothing", "residual", "norm",
                    "activation", "seed", "image_size")


def config_changes(winner: dict, other: dict) -> dict[str, str]:
    """What ``other`` set differently from the winner: {field: "other (winner: value)"}."""
    return {f: f"{other.get(f)} (winner: {winner.get(f)})" for f in CHALLENGE_FIELDS
            if other.get(f) != winner.get(f)}


def check_queue(limits: ClassLimits, active_total: int) -> None:
    if active_total >= limits.queue_cap:
        raise RunError(f"the class queue is full ({active_total} runs queued or running, the cap "
                       f"is {limits.queue_cap}); try again when one finishes")


def _check_memory(config: TrainConfig) -> None:
    """Refuse, not warn, a run whose training step would not fit in free memory."""
    spec = DATASETS.get(config.dataset)
    if spec is None or spec.channels is None:
        return  # a folder's shape is known only after it is read; the trainer checks it
    from resnet_core.analysis.cost import available_memory
    from resnet_core.device import resolve_device

    device = resolve_device(config.device).type
    peak = _peak_bytes(config.arch, len(spec.class_names or range(10)), spec.channels,
                       config.image_size or spec.image_size, config.optimizer,
                       config.residual, config.norm, config.activation, config.batch_size)
    free = available_memory(device)
    if peak > free:
        raise ConfigError(f"batch {config.batch_size} of {config.arch} needs about {peak / 2**20:,.0f} MiB "
                          f"and {free / 2**20:,.0f} MiB is free; use a smaller batch or image size")


@functools.lru_cache(maxsize=64)
def _peak_bytes(arch, num_classes, channels, size, optimizer, residual, norm, activation,
                batch_size) -> int:
    from resnet_core.analysis.cost import estimate_memory

    memory = estimate_memory(arch, num_classes, channels, size, optimizer=optimizer,
                             residual=residual, norm=norm, activation=activation)
    return memory.peak(batch_size)


_CLASSROOMS: dict[Path, Classroom] = {}
_CLASSROOMS_LOCK = threading.Lock()


def classroom_for(runs_dir: str | Path) -> Classroom:
    """One Classroom per runs folder and process (the teacher token is made once)."""
    root = Path(runs_dir).resolve()
    with _CLASSROOMS_LOCK:
        if root not in _CLASSROOMS:
            _CLASSROOMS[root] = Classroom(root)
        return _CLASSROOMS[root]


def allowed_hosts(bind_address: str | None = None) -> list[str]:
    """The Host names a class server answers: localhost, this machine's name and addresses,
    the address it is bound to, and what RESNET_WORKBENCH_HOSTS adds. Anything else (a DNS
    rebinding page, a foreign proxy) is refused."""
    import socket

    names = {"localhost", "127.0.0.1", "::1"}
    try:
        hostname = socket.gethostname()
        names |= {hostname.lower(), socket.getfqdn().lower()}
        names |= {info[4][0] for info in socket.getaddrinfo(hostname, None)}
    except OSError:
        pass
    try:  # the address other machines reach this one at (no packet is sent)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.254.254.254", 1))
            names.add(probe.getsockname()[0])
    except OSError:
        pass
    if bind_address and bind_address not in ("0.0.0.0", "::", ""):
        names.add(bind_address.lower())
    names |= {h.lower() for h in settings().hosts}
    return sorted(names)

