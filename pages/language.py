"""The language of this browser session (issue 39): which one, the switch, and telling the
browser. Not a page; pages/navigation.py calls ``use_language`` first on every run.

Each session's script runs in its own thread, and ``i18n.set_language`` sets a ContextVar of
that run: two sessions in two languages on one server never see each other's (no
process-wide gettext.install). Switching is a rerun: no model or dataset is loaded again.
"""

from __future__ import annotations

import json

import streamlit as st

from resnet_core import i18n

COOKIE = i18n.COOKIE  # a past choice, read on the next visit (a year), and by /join
PARAM = "lang"  # ?lang=zh-CN: a link that opens in a language, and a reload that keeps it
KEY = "language_choice"  # the switch's widget
CHOSEN = "language_chosen"  # True once this session chose with the switch


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
    return tag


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
    # Screen readers pick their voice by <html lang>; axe checks it against the text.
    st.html(f"<script>document.documentElement.lang = {json.dumps(tag)}; {cookie}</script>",
            unsafe_allow_javascript=True)
