"""The zh-CN catalog (issue 39): every text the source marks is translated, nothing in it is
left over from texts the source dropped, each translation keeps its placeholders, and the
Chinese uses the glossary's term wherever the English uses the glossary's English one."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from resnet_core import i18n

from helpers import ROOT

GLOSSARY = ROOT / "docs" / "i18n" / "glossary-zh-CN.tsv"


@pytest.fixture(scope="module")
def source_ids(tmp_path_factory) -> set:
    """The msgids the source marks now, extracted as docs/i18n.md says (pybabel extract)."""
    pot = tmp_path_factory.mktemp("pot") / "workbench.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(pybabel), "extract", "-F", "babel.cfg", "-o", str(pot), "."], cwd=ROOT, check=True,
                   capture_output=True)
    return {m.id for m in read_po(pot.open("rb")) if m.id}


@pytest.fixture(scope="module")
def catalog():
    return read_po(i18n.catalog_path("zh-CN").open("rb"), locale="zh_CN")


def texts(message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string)


def test_every_marked_text_is_translated_and_nothing_is_obsolete(source_ids, catalog):
    translated = {m.id for m in catalog if m.id and all(texts(m)) and not m.fuzzy}
    assert sorted(map(str, source_ids - translated)) == [], "untranslated: run pybabel update (docs/i18n.md)"
    assert sorted(map(str, {m.id for m in catalog if m.id} - source_ids)) == [], "obsolete"
    assert not catalog.obsolete


def test_the_template_is_what_the_source_marks(source_ids):
    """workbench.pot, what a new language starts from, is up to date."""
    pot = read_po((i18n.LOCALE_DIR / "workbench.pot").open("rb"))
    assert {m.id for m in pot if m.id} == source_ids


def test_every_translation_keeps_its_placeholders(catalog):
    wrong = []
    for m in catalog:
        if not m.id:
            continue
        english = m.id if isinstance(m.id, tuple) else (m.id,)
        for text in texts(m):
            if not any(i18n.placeholders(text) == i18n.placeholders(e) for e in english):
                wrong.append(f"{english[-1]!r} -> {text!r}")
    assert wrong == []


def test_the_chinese_uses_the_glossarys_terms(catalog):
    """Where an English text uses a glossary term, its translation uses the glossary's Chinese
    one. Rows whose English is qualified by its sense ("class (of students)", "run (one training
    run)", "pruning (a trial)") are left out: the same English word has another sense here (an
    image's class is 类别)."""
    missing = []
    for english, chinese in glossary():
        pattern = re.compile(rf"\b{english}s?\b", re.IGNORECASE)
        for m in catalog:
            if not m.id:
                continue
            if pattern.search(words(" ".join(m.id) if isinstance(m.id, tuple) else m.id)):
                missing += [f"{english} -> {chinese}: {text!r}" for text in texts(m) if chinese not in text]
    assert not missing, "\n".join(missing)


def test_a_lesson_named_by_its_number_is_that_lesson_in_chinese(catalog):
    """"lesson 4" is "第 4 课" (the ordinal a Chinese course uses), never another number."""
    for m in catalog:
        if m.id and isinstance(m.id, str):
            for number in re.findall(r"\blesson (\d)", m.id, re.IGNORECASE):
                assert all(f"第 {number} 课" in text for text in texts(m)), (m.id, texts(m))


def words(english: str) -> str:
    """The words a reader reads in ``english``: without placeholders, code in backticks, flags,
    names with a dot, slash, underscore or = (torch.export, checkpoints/best.pt, max_steps), and
    "lesson 4" (see the ordinal test); British spellings as the glossary's."""
    for code in (r"(?i)\blesson \d", r"\{[^}]*\}", r"`[^`]*`", r"--[\w-]+", r"\S*[/._=]\S*"):
        english = re.sub(code, " ", english)
    return english.replace("normalis", "normaliz")


def glossary() -> list[tuple[str, str]]:
    """(English term, its Chinese) pairs: "stride / padding" gives two; a sense-qualified row none."""
    pairs = []
    with GLOSSARY.open(encoding="utf-8") as f:
        rows = [r for r in csv.reader((line for line in f if not line.startswith("#")), delimiter="\t")][1:]
    for english, chinese, *_rest in rows:
        qualifier = re.search(r"\((.*?)\)", english)
        if qualifier and qualifier.group(1).split()[0] in ("of", "one", "a"):
            continue
        english = re.sub(r"\s*\(.*?\)", "", english)
        en, zh = [t.strip() for t in english.split("/")], [t.strip() for t in chinese.split("/")]
        if len(en) == len(zh):
            last_words = en[-1].split()[1:]  # "training / validation / test set": each "... set"
            en = [t if " " in t or not last_words else f"{t} {' '.join(last_words)}" for t in en]
            pairs += list(zip(en, zh, strict=True))
        else:
            pairs += [(t, zh[0]) for t in en]
    return pairs


def test_the_chinese_markdown_renders_as_the_english_does(catalog):
    """Bold in Chinese: a closing ** after a full-width colon and before a letter does not close
    in CommonMark ("**真实：**4" showed its asterisks on the Explain page): each translation,
    its placeholders filled, renders no stray asterisk."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    stray = []
    for m in catalog:
        for text in texts(m) if m.id else []:
            if "*" in text and "*" in md.renderInline(re.sub(r"\{[^{}]*\}", "x1", text)).replace("||", ""):
                stray.append(text)
    assert stray == []
