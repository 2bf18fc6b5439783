"""The language a person reads, per person and never per process (issue 39).

Every word shown goes through ``_`` (or ``ngettext`` for plurals), which looks the English
text up in the catalog of the *current* language: a ``ContextVar``, so two Streamlit sessions
(each its own script thread) or a CLI and a page in one process never leak into each other.
Nothing calls ``gettext.install``. The catalogs are gettext's:
``resnet_core/locale/<ll_CC>/LC_MESSAGES/workbench.po``, what translators edit (docs/i18n.md
has Babel's extract / update commands). The ``.po`` is read here and compiled in memory by
Babel on first use, so there is no ``.mo`` to forget to rebuild; a text missing from it reads
in English. ``N_`` marks a text for extraction where it is defined (a table, a default) and
is translated where it is shown.

Languages are BCP 47 tags: "en" and "zh-CN". ``pick`` reads what a person or an environment
asked for ("zh_CN.UTF-8", "zh-Hans-CN", "zh", an Accept-Language header) and returns one of
them, or None. Run folders, JSON keys, metric names and the Python API stay English: they are
contracts, not text.

The pseudo-language "en-XA" (tests only) wraps every translated text in ⟦ ⟧, so that a page
rendered in it shows at a glance any text that bypassed the catalog.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import io
import os
import re
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

DOMAIN = "workbench"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"en": "English", "zh-CN": "简体中文"}  # tag -> its name in itself
DEFAULT = "en"
PSEUDO = "en-XA"
COOKIE = "resnet_workbench_lang"  # a browser's chosen language (the app's switch sets it; /join reads it)

_current: ContextVar[str | None] = ContextVar("resnet_workbench_language", default=None)


def pick(*asked: str | None) -> str | None:
    """The first of ``asked`` that names a language we have: "zh_CN.UTF-8" -> "zh-CN",
    "zh-Hans" -> "zh-CN", "en-GB" -> "en"; each may be an Accept-Language header
    ("zh-CN,zh;q=0.9,en;q=0.8", read by its q order). None where none does."""
    for text in asked:
        for tag in _tags(text or ""):
            tag = tag.split(".")[0].split("@")[0].replace("_", "-").lower()
            if tag == PSEUDO.lower():
                return PSEUDO
            if tag == "zh" or tag.startswith(("zh-cn", "zh-hans", "zh-sg")):
                return "zh-CN"
            if tag == "en" or tag.startswith("en-"):
                return "en"
    return None


def _tags(text: str) -> list[str]:
    """An Accept-Language header's tags, best first; a single tag as itself."""
    weighted = []
    for i, part in enumerate(p.strip() for p in text.split(",")):
        tag, _, q = part.partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        if tag and tag != "*":
            weighted.append((-weight, i, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def from_environment(environ: dict | None = None) -> str:
    """The CLI's language: LC_ALL, LC_MESSAGES, LANG (POSIX's order; "C" is English), else
    the server's default."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):
            return pick(env[name]) or DEFAULT
    return server_default()


def server_default() -> str:
    """RESNET_WORKBENCH_LANG (settings), else English."""
    from resnet_core.settings import settings

    return pick(settings().language) or DEFAULT


def language() -> str:
    """The language of whoever is being answered now."""
    return _current.get() or server_default()


def set_language(tag: str) -> None:
    """Answer in ``tag`` from here on in this context (a page's script run, a CLI command)."""
    if tag not in LANGUAGES and tag != PSEUDO:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {tag!r}")
    _current.set(tag)


def forget() -> None:
    """This context has chosen no language (it reads the server's default again)."""
    _current.set(None)


@contextlib.contextmanager
def speaking(tag: str) -> Iterator[None]:
    """``with speaking("zh-CN"): ...``: a block in another language, then back."""
    token = _current.set(tag)
    try:
        yield
    finally:
        _current.reset(token)


def catalog_path(tag: str) -> Path:
    """Where ``tag``'s catalog lives: locale/zh_CN/LC_MESSAGES/workbench.po."""
    return LOCALE_DIR / tag.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.lru_cache(maxsize=8)
def _translations(tag: str) -> gettext.NullTranslations:
    path = catalog_path(tag)
    if tag in (DEFAULT, PSEUDO) or not path.exists():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        catalog = read_po(f, locale=tag.replace("-", "_"))
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries left out, as pybabel compile does
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _lookup(method: str, *args) -> str:
    """The catalog's ``method`` (gettext, ngettext, pgettext) in the current language; in the
    pseudo-language, the text marked ⟦ ⟧."""
    tag = language()
    text = getattr(_translations(tag), method)(*args)
    return f"⟦{text}⟧" if tag == PSEUDO else text


def _(message: str) -> str:
    """``message`` (English, the catalog's key) in the current language."""
    return _lookup("gettext", message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a text with a count, as the current language counts
    ("{n} run" / "{n} runs"; Chinese has one form: "{n} 个运行")."""
    return _lookup("ngettext", singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` in the sense ``context`` names: one English word, two Chinese ones ("Class",
    a navigation section: 班级; an image's class: 类别)."""
    return _lookup("pgettext", context, message)


def N_(message: str) -> str:
    """Marks ``message`` for the catalog where it is defined; ``_`` translates it where shown."""
    return message


# {name}, and printf's %s, %d, %(name)r (no space flag: "8.75% for" is a percentage, not a %f).
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%(?:\([^)]*\))?[-#0+]*\d*(?:\.\d+)?[sdifgeErx%]")


def placeholders(text: str) -> list[str]:
    """The ``{name}`` and ``%d``-style placeholders of a message, sorted: a translation must
    keep the same ones."""
    return sorted(PLACEHOLDER.findall(text))


def duration(seconds: float) -> str:
    """"0.21 s", "48 s", "4 min 51 s", "1 h 02 min"; in Chinese "4 分 51 秒": two figures
    under 10 s (a digits epoch takes a fifth of a second, which whole seconds read as 0 s)."""
    s, m, h = ("秒", "分", "小时") if language() == "zh-CN" else ("s", "min", "h")
    if seconds < 9.95:
        return f"{max(0.0, seconds):.2g} {s}"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} {s}"
    if seconds < 3600:
        return f"{seconds // 60} {m} {seconds % 60} {s}"
    return f"{seconds // 3600} {h} {seconds % 3600 // 60:02d} {m}"
