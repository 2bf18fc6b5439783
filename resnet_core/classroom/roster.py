"""Who is in a class: display names (compared after Unicode's look-alikes are folded), class
codes and rejoin codes. The rules only; ``Classroom`` keeps the roster in class.json and
calls them, under its lock."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import unicodedata

from resnet_core.classroom.access import LESSONS, token_matches
from resnet_core.errors import ConfigError
from resnet_core.i18n import _

NAME_PATTERN = re.compile(r"^[\w .'-]{1,32}$")
# Words a student's name may not be (after look-alikes are folded): the roles, the owners the
# pages show, and what tables say instead of a name.
RESERVED_NAMES = frozenset({"teacher", "you", "me", LESSONS.name.lower(), "lessons", "local",
                            "admin", "administrator", "student", "students", "nobody",
                            "everyone", "not joined", "server", "class", "system"})
MIN_CODE_LENGTH = 8  # a class code: 8+ characters (a 4-digit code fell in 11 s without a limit)
REJOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud, typed by hand
REJOIN_NONCE = "n:"  # class.json's rejoin entry: "n:" + a nonce the code is derived from


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
    return frozenset(_bare(name_key(w)) for w in RESERVED_NAMES)


def _bare(key: str) -> str:
    """A name key without its spaces, dots, dashes and apostrophes: "Teacher.", "T-eacher"
    and "T eacher" read as the word they spell."""
    return "".join(ch for ch in key if ch.isalnum())


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def clean_name(name: str) -> str:
    """A display name as the class shows it (NFKC, spaces collapsed); a one-line ConfigError
    for one that is malformed or reserved (after look-alikes are folded)."""
    name = " ".join(unicodedata.normalize("NFKC", str(name)).split())
    if not NAME_PATTERN.match(name):
        raise ConfigError(_("a display name is 1 to 32 letters, digits, spaces, dots, dashes or "
                            "apostrophes"))
    if _bare(name_key(name)) in _reserved_keys():
        raise ConfigError(_("{name} is reserved (or looks like a reserved word); choose another "
                            "name").format(name=f"{name!r}"))
    return name


def clean_class_code(code: str | None) -> str | None:
    """None or "" for no code; else at least MIN_CODE_LENGTH characters (wrong codes are also
    rate-limited per address by the gate)."""
    code = (code or "").strip() or None
    if code is not None and len(code) < MIN_CODE_LENGTH:
        raise ConfigError(_("a class code has at least {MIN_CODE_LENGTH} characters (try "
                            "{new_class_code}); got {code}").format(
                              MIN_CODE_LENGTH=MIN_CODE_LENGTH, new_class_code=f"{new_class_code()!r}", code=len(code)))
    return code


def new_rejoin_entry() -> str:
    """What class.json keeps for a new rejoin code: a nonce the code is derived from."""
    return REJOIN_NONCE + secrets.token_hex(16)


def shows_again(entry: str | None) -> bool:
    """Whether the code a stored entry stands for can be shown again (a nonce: yes; an entry
    written before issue 36 kept only the code's sha256, and a missing one has no code)."""
    return bool(entry) and entry.startswith(REJOIN_NONCE)


def rejoin_code(secret: bytes, student_id: str, entry: str) -> str:
    """The code a stored entry stands for: HMAC of the student and the nonce under the class's
    secret (class.json alone does not give it away), as 3 groups of 4 letters and digits."""
    digest = hmac.new(secret, f"rejoin|{student_id}|{entry}".encode(), hashlib.sha256).digest()
    letters = "".join(REJOIN_ALPHABET[b % len(REJOIN_ALPHABET)] for b in digest[:12])
    return "-".join(letters[i:i + 4] for i in (0, 4, 8))


def rejoin_matches(secret: bytes, student_id: str, entry: str | None, code: str) -> bool:
    """Whether ``code`` (as typed: any case, spaces) is the student's stored rejoin code."""
    if entry is None:
        return False
    given = code.strip().upper().replace(" ", "")
    if shows_again(entry):
        return token_matches(given, rejoin_code(secret, student_id, entry))
    return token_matches(_digest(given), entry)  # a code minted before issue 36 (its sha256)


def clean_class_name(name: str) -> str:
    """A class's name ("Section B"): 1 to 40 printable characters."""
    name = " ".join(str(name or "").split())
    if not 1 <= len(name) <= 40 or not name.isprintable():
        raise ConfigError(_("a class's name is 1 to 40 printable characters, got {name}").format(
                              name=f"{name!r}"))
    return name
