"""Every page in the pseudo-language (issue 39): each text a person reads comes from the
catalog, so under "en-XA" (which wraps every translated text in ⟦ ⟧) a visible text without
the marks is a hard-coded English string. Single-user and class mode (a teacher and a
student), an empty runs folder and a filled one; then the same pages in Chinese."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block, Html

from resnet_core import i18n

from helpers import PSEUDO_MARKED, ROOT

SINGLE = ["home.py", "train.py", "sweep.py", "runs.py", "evaluate.py", "explain.py", "predict.py",
          "deploy.py", "lessons.py"]
TEACHER = SINGLE + ["challenge.py", "teacher.py"]
# Not translated, on purpose: the switch names each language in itself, for a reader of either.
UNTRANSLATED = {"Language · 语言", "ResNet Workbench"}
LETTERS = re.compile(r"[A-Za-z]{2,}")
CODE = re.compile(r"`[^`]*`")  # commands, paths and ids shown as code are not words to translate


def _texts(node) -> list[str]:
    """What a person reads on one element: its body, label, help and placeholder."""
    if isinstance(node, Html):
        return []  # styles and the language script, never shown
    texts = []
    for attr in ("label", "help", "placeholder"):
        value = getattr(node, attr, None) if not isinstance(node, Block) else getattr(node, attr, None)
        if isinstance(value, str):
            texts.append(value)
    if node.type in ("markdown", "title", "header", "subheader", "caption", "text", "error", "warning",
                     "info", "success", "toast"):
        texts.append(str(node.value))
    return texts


def unmarked(at: AppTest, data: set[str]) -> list[str]:
    """The visible texts that bypassed the catalog (none wrapped in ⟦ ⟧): each with no
    translated part, at least one English word, and not a piece of the user's data."""
    found = []
    for node in at._tree:
        for text in _texts(node):
            rest = PSEUDO_MARKED.sub("", text)  # what the catalog gave, placeholders filled
            for piece in sorted(data, key=len, reverse=True):  # a run's id or name is data
                rest = rest.replace(piece, "")
            if text not in UNTRANSLATED and LETTERS.search(CODE.sub("", rest)):
                found.append(f"{node.type}: {text[:160]!r}")
    return found


def _app(monkeypatch, runs_dir, lang: str, env: dict | None = None) -> AppTest:
    monkeypatch.setenv("RESNET_WORKBENCH_RUNS", str(runs_dir))
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "pages" / "navigation.py"), default_timeout=60)
    at.query_params["lang"] = lang
    return at


def _render(at: AppTest, page: str) -> AppTest:
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", SINGLE)
def test_every_text_of_a_page_comes_from_the_catalog_on_an_empty_folder(monkeypatch, tmp_path, page):
    at = _render(_app(monkeypatch, tmp_path / "runs", i18n.PSEUDO), page)
    found = unmarked(at, set())
    assert not found, f"{page}: " + "\n".join(found)


@pytest.mark.parametrize("page", SINGLE)
def test_every_text_of_a_page_comes_from_the_catalog_with_runs(monkeypatch, mixed_runs, page):
    at = _render(_app(monkeypatch, mixed_runs, i18n.PSEUDO), page)
    found = unmarked(at, run_data(mixed_runs))
    assert not found, f"{page}: " + "\n".join(found)


def run_data(runs_dir) -> set[str]:
    """The runs' ids, names, class names: data a page shows as it is."""
    from resnet_core.runs.store import RunStore

    data = set()
    for run in RunStore(runs_dir).runs():
        data |= {run.id, str(run.config.get("name") or ""), str(run.config.get("dataset") or ""),
                 str(run.config.get("arch") or "")}
        data |= {str(c) for c in run.config.get("class_names") or []}
    return {d for d in data if d}


def test_the_train_pages_recipe_line_reads_as_one_chinese_sentence(monkeypatch, tmp_path):
    """The recipe's line joined its result and "Also sets" with an English ". " in every
    language ("...（2 核 CPU）. 还设置了"); the whole line is one catalog text now."""
    # The server's language (RESNET_WORKBENCH_LANG), not ?lang=: AppTest cannot set a widget
    # value on a page whose radios format their options in another language than they hold.
    monkeypatch.setenv("RESNET_WORKBENCH_LANG", "zh-CN")
    monkeypatch.setenv("RESNET_WORKBENCH_RUNS", str(tmp_path / "runs"))
    monkeypatch.chdir(ROOT)
    at = _render(AppTest.from_file(str(ROOT / "pages" / "navigation.py"), default_timeout=60), "train.py")
    at.selectbox(key="recipe_digits").set_value("digits-99").run()
    line = next(c.value for c in at.caption if c.value.startswith("**digits-99**"))
    assert line.startswith("**digits-99**：") and "。还设置了 " in line and ". " not in line, line
