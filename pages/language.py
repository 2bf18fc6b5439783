"""The language of this browser session (issue 39): which one, the switch, and telling the
browser. Not a page; pages/navigation.py calls ``use_language`` first on every run.

Each session's script runs in its own thread, and ``i18n.set_language`` sets a ContextVar of
that run: two sessions in two languages on one server never see each other's (no
process-wide gettext.install). Switching is a rerun: no model or dataset is loaded again.
"""

from __future__ import annotations

import functools
import json

import streamlit as st

from resnet_core import i18n

COOKIE = i18n.COOKIE  # a past choice, read on the next visit (a year), and by /join
PARAM = "lang"  # ?lang=zh-CN: a link that opens in a language, and a reload that keeps it
KEY = "language_choice"  # the switch's widget
CHOSEN = "language_chosen"  # True once this session chose with the switch
NOW = "language_now"  # the language of this session's last full run, for its fragments


def resolve(class_language: str | None = None) -> str:
    """This session's language, first found: the switch (a choice made in this session),
    ?lang= in the URL, the cookie a past choice left, the class's language (its teacher's
    choice, class mode), the browser's language, the server's default (RESNET_WORKBENCH_LANG)."""
    if st.session_state.get(CHOSEN) and st.session_state.get(KEY):
        return st.session_state[KEY]
    return (i18n.pick(st.query_params.get(PARAM)) or i18n.pick(st.context.cookies.get(COOKIE))
            or i18n.pick(class_language)
            or i18n.pick(st.context.locale, st.context.headers.get("Accept-Language"))
            or i18n.server_default())


def use_language(class_language: str | None = None) -> str:
    """Answer this run in this session's language; returns its tag."""
    tag = resolve(class_language)
    i18n.set_language(tag)
    st.session_state[NOW] = tag
    return tag


def keyed(key: str) -> str:
    """The key of a widget whose options are shown translated, for this language, carrying the
    choice over from the last language. Streamlit keeps a radio's or a select box's choice as its
    displayed text: after a switch the old text matched no option and the choice was dropped (a
    select box went on showing the English one)."""
    now = f"{key}@{i18n.language()}"
    if now not in st.session_state:
        for tag in (*i18n.LANGUAGES, i18n.PSEUDO):
            if st.session_state.get(f"{key}@{tag}") is not None:  # None reads as "no choice"
                st.session_state[now] = st.session_state[f"{key}@{tag}"]
                break
    return now


def fragment(func=None, *, run_every=None):
    """st.fragment that speaks this session's language. Streamlit runs a fragment's rerun in a
    context of its own, without the frame (navigation.py) that set the language: measured, a
    live chart switched to Chinese with the page and went back to English at its next refresh."""
    def wrap(f):
        @functools.wraps(f)
        def in_language(*args, **kwargs):
            i18n.set_language(st.session_state.get(NOW) or i18n.server_default())
            return f(*args, **kwargs)
        return st.fragment(in_language, run_every=run_every)
    return wrap(func) if func is not None else wrap


def _chose() -> None:
    """Called when the switch changes: the choice holds for this session, the URL and a cookie."""
    st.session_state[CHOSEN] = True
    st.query_params[PARAM] = st.session_state[KEY]


def switch(tag: str) -> None:
    """The language switch ("English" / "简体中文"), labelled in both languages so a reader
    of either finds it; then the page's <html lang> and, after a choice, the cookie."""
    options = list(i18n.LANGUAGES) + ([tag] if tag not in i18n.LANGUAGES else [])
    if not st.session_state.get(CHOSEN):
        st.session_state[KEY] = tag  # shows what was resolved until the reader picks
    st.selectbox("Language · 语言", options, key=KEY, on_change=_chose,
                 format_func=lambda t: i18n.LANGUAGES.get(t, t))
    explicit = st.session_state.get(CHOSEN) or st.query_params.get(PARAM)
    if explicit and st.query_params.get(PARAM) != tag:
        st.query_params[PARAM] = tag  # page links drop the query: put it back
    cookie = (f"document.cookie = {json.dumps(f'{COOKIE}={tag}; path=/; max-age=31536000; SameSite=Lax')};"
              if explicit else "")
    # Screen readers pick their voice by <html lang>; axe checks it against the text. A script
    # runs when its element mounts: a container keyed by the language mounts a new one on a switch.
    with st.container(key=f"language_{tag}_{bool(explicit)}"):
        st.html(f"<script>document.documentElement.lang = {json.dumps(tag)}; {cookie}</script>",
                unsafe_allow_javascript=True)
