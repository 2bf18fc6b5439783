"""The reader's language (issue 39): picked from what a person or an environment asked for,
held per context (two sessions in two languages at once do not leak), durations as each
language writes them."""

from __future__ import annotations

import threading

import pytest

from resnet_core import i18n


@pytest.mark.parametrize("asked, tag", [
    ("zh_CN.UTF-8", "zh-CN"), ("zh-CN", "zh-CN"), ("zh-Hans-CN", "zh-CN"), ("zh", "zh-CN"),
    ("en_US.UTF-8", "en"), ("en-GB", "en"), ("fr-FR,zh-CN;q=0.8,en;q=0.5", "zh-CN"),
    ("en;q=0.2,zh-CN;q=0.9", "zh-CN"), ("fr-FR", None), ("C", None), ("", None), ("*", None),
])
def test_pick_reads_locales_tags_and_accept_language_headers(asked, tag):
    assert i18n.pick(asked) == tag


def test_the_environment_follows_posix_order_then_the_servers_default(monkeypatch):
    assert i18n.from_environment({"LANG": "zh_CN.UTF-8"}) == "zh-CN"
    assert i18n.from_environment({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}) == "en"  # LC_ALL wins
    monkeypatch.setenv("RESNET_WORKBENCH_LANG", "zh-CN")
    assert i18n.from_environment({}) == "zh-CN" == i18n.language()


def test_two_contexts_in_two_languages_at_once_do_not_leak():
    seen, ready = {}, threading.Barrier(2)

    def session(tag: str) -> None:
        i18n.set_language(tag)
        ready.wait()  # both have set theirs before either reads
        seen[tag] = (i18n.language(), i18n.duration(125))

    threads = [threading.Thread(target=session, args=(t,)) for t in ("en", "zh-CN")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"en": ("en", "2 min 5 s"), "zh-CN": ("zh-CN", "2 分 5 秒")}
    assert i18n.language() == "en"  # this thread never chose


def test_durations_and_the_pseudo_language():
    assert [i18n.duration(s) for s in (0.21, 48, 291, 3720)] == ["0.21 s", "48 s", "4 min 51 s", "1 h 02 min"]
    with i18n.speaking("zh-CN"):
        assert i18n.duration(3720) == "1 小时 02 分"
    with i18n.speaking(i18n.PSEUDO):
        assert i18n._("Train") == "⟦Train⟧"
        assert i18n.ngettext("{n} run", "{n} runs", 3) == "⟦{n} runs⟧"
    assert i18n._("Train") == "Train"
    with pytest.raises(ValueError, match="language must be one of en, zh-CN"):
        i18n.set_language("fr")


def test_placeholders_are_what_a_translation_must_keep():
    assert i18n.placeholders("{n} runs of {arch}, %d%% done") == ["%%", "%d", "{arch}", "{n}"]
