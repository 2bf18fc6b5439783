"""A class's co-teachers and assistants (issue 40): the links that sign them in.

A link is a token, ``<link id>.<secret>``, shown once to the teacher who made it; the class
keeps only its SHA-256 (class.json's ``staff``), so the file never holds a working link. Its
holder is signed in to that one class with the link's role; revoking the link removes it, and
every session it made reads as nobody at its next request (``course.Course.user_from_cookie``).
The rules only; ``Classroom`` keeps the links and calls these under its lock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timezone

from resnet_core.classroom.access import User
from resnet_core.classroom.roster import clean_name
from resnet_core.errors import ConfigError
from resnet_core.i18n import _

STAFF_ROLES = ("teacher", "assistant")  # what a class's link may make someone


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_link(role: str, name: str) -> tuple[str, str, dict]:
    """A new link for ``name`` as ``role``: its id, its token (to show once) and what the class
    keeps of it."""
    if role not in STAFF_ROLES:
        raise ConfigError(_("a link is for one of {names}, got {role}").format(
                              names=", ".join(STAFF_ROLES), role=f"{role!r}"))
    name = clean_name(name)
    link_id = f"{role[0]}-{secrets.token_hex(4)}"
    token = f"{link_id}.{secrets.token_urlsafe(18)}"
    made = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return link_id, token, {"role": role, "name": name, "hash": digest(token), "made_at": made}


def link_user(staff: dict[str, dict], token: str, class_id: str) -> User | None:
    """The co-teacher or assistant of ``class_id`` a link's token names (in constant time),
    or None."""
    link_id = token.split(".", 1)[0]
    link = staff.get(link_id)
    if link is None or not hmac.compare_digest(link["hash"], digest(token)):
        return None
    return User(link_id, link["name"], link["role"], class_id)
