"""Who is acting and what they may do: the roles of a class server, checked in the core's actions.

Single-user mode (the default, and every CLI or notebook call) acts as ``LOCAL``, a teacher:
every control. A class server knows three roles: the teacher, an assistant (a class's
teaching assistant: stops runs and reveals answers, changes nothing else) and a student. A
user belongs to one class (``class_id``; the server's own teacher, who holds its token,
teaches every class: ``ALL_CLASSES``). Its pages act through the front door
(``workbench.Session``), which checks the acting ``User`` here and passes down only what
bounds the action (an ``Owner``, and whether the student limits apply): hiding a widget is
not the protection.

A user's identity is a signed session cookie (HMAC-SHA256 with the server's secret), made by
the class server's sign-in (``class_gate``); a missing, forged or expired cookie reads as
nobody, and nobody has no more rights than a student.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from resnet_core.errors import WorkbenchError
from resnet_core.i18n import _
from resnet_core.runs.jobfile import LESSONS_OWNER, LOCAL_OWNER, Owner

ROLES = ("teacher", "assistant", "student")
MAIN_CLASS = "main"  # the class a server starts with (<runs>/.class/); sections are added beside it
ALL_CLASSES = "*"  # the server's teacher (its token): every class
COOKIE = "workbench_session"  # HttpOnly, SameSite=Lax; set only by class_gate
SESSION_DAYS = 14  # a session cookie older than this reads as nobody


class AccessDenied(WorkbenchError, PermissionError):
    """The acting user's role does not allow the action."""


@dataclass(frozen=True)
class User:
    id: str
    name: str  # display name; students choose theirs when they join
    role: str  # "teacher" | "assistant" | "student"
    class_id: str = MAIN_CLASS  # the class they belong to; ALL_CLASSES: the server's teacher

    @property
    def is_teacher(self) -> bool:
        return self.role == "teacher"

    @property
    def is_staff(self) -> bool:
        """A teacher or an assistant: sees the class's Teacher page."""
        return self.role in ("teacher", "assistant")

    def teaches(self, class_id: str) -> bool:
        """Whether this is a teacher or assistant of ``class_id``."""
        return self.is_staff and self.class_id in (ALL_CLASSES, class_id)

    @property
    def owner(self) -> Owner:
        """This user as the queue and job.json know them: an id and a name, no role."""
        return Owner(self.id, self.name)


LOCAL = User(LOCAL_OWNER.id, LOCAL_OWNER.name, "teacher", ALL_CLASSES)  # single-user mode, the CLI and notebooks
LESSONS = User(LESSONS_OWNER.id, LESSONS_OWNER.name, "teacher", ALL_CLASSES)  # owner of the shared lesson runs
# Not joined, or a forged, expired or reset session: a user with no rights, so that every
# check fails closed (never None, which a check could mistake for single-user mode).
NOBODY = User("", "not joined", "none")


def is_member(user: User | None) -> bool:
    """A teacher or a student who joined; not ``NOBODY``."""
    return user is not None and user.role in ROLES and bool(user.id)


def require_member(user: User, action: str) -> None:
    if not is_member(user):
        raise AccessDenied(_("join the class first: only its members may {action}").format(
                               action=action))


def require_teacher(user: User, action: str) -> None:
    if not is_member(user) or not user.is_teacher:
        raise AccessDenied(_("only the teacher may {action}").format(action=action))


def may_control(user: User | None, owner_id: str) -> bool:
    """Stop, resume or delete: the teacher any run, a student only their own."""
    return is_member(user) and (user.is_teacher or user.id == owner_id)


def require_staff(user: User, action: str) -> None:
    """A teacher or an assistant (of some class: the caller checks which)."""
    if not is_member(user) or not user.is_staff:
        raise AccessDenied(_("only the teacher or an assistant of the class may {action}").format(action=action))


def require_control(user: User, action: str, run_id: str, owner_id: str) -> None:
    """``may_control``, or an AccessDenied that says why."""
    if may_control(user, owner_id):
        return
    whose = "a shared lesson run" if owner_id == LESSONS.id else "another person's run"
    raise AccessDenied(_("run {run_id} is {whose}; students may {action} only their own runs").format(
                           run_id=run_id, whose=whose, action=action))


# -- session cookies ----------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_session(user: User, secret: bytes, *, generation: int = 0, now: float | None = None) -> str:
    """The cookie value for ``user``: a base64 JSON payload and its HMAC, joined by a dot."""
    payload = {"id": user.id, "name": user.name, "role": user.role, "cls": user.class_id,
               "gen": generation, "iat": int(now if now is not None else time.time())}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())}"


def read_session(value: str | None, secret: bytes, *, generation=0,
                 now: float | None = None) -> User | None:
    """The user a cookie names, or None when it is missing, forged, from before a class reset
    (``generation``: the class's number, or a function of the user's class id giving it)
    or older than SESSION_DAYS. A cookie from before sections names no class: the first one."""
    if not value or value.count(".") != 1:
        return None
    body, signature = value.split(".")
    expected = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    try:
        payload = json.loads(_unb64(body))
        user = User(str(payload["id"]), str(payload["name"]), str(payload["role"]),
                    str(payload.get("cls") or MAIN_CLASS))
        issued, gen = int(payload["iat"]), int(payload["gen"])
    except (ValueError, KeyError, TypeError):
        return None
    age = (now if now is not None else time.time()) - issued
    if callable(generation):
        generation = generation(user.class_id)
    if user.role not in ROLES or gen != generation or not 0 <= age <= SESSION_DAYS * 86400:
        return None
    return user


def token_matches(given: str | None, expected: str) -> bool:
    """The teacher token check, in constant time (no timing hint about a prefix)."""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())
