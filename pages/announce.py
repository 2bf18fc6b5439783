"""One polite live region per live view: the line a screen reader announces while the page
refreshes itself every couple of seconds.

A timed fragment redraws its charts, metrics and tables on every refresh; none of them is a
live region, so a screen reader says nothing about them unless the user goes there. What it
should hear is this one line, and only when it changes: the texts come from the core
(``runs.Progress.announcement``, ``analysis.announce_progress``), which change them at
milestones (queued, started, each quarter, finished), not at every refresh.

Streamlit's custom components v2 (inline, no iframe): the ``role="status"`` element is
created once and kept; each rerun sets its text only when the text differs, so assistive
technology sees one region whose content changes, which is what it announces.
"""

from __future__ import annotations

import streamlit as st

HTML = '<p class="wb-status" role="status" aria-live="polite" aria-atomic="true"></p>'
CSS = ".wb-status { margin: 0; font-size: 0.875rem; color: inherit; }"
JS = """
export default function (component) {
  const { data, parentElement } = component;
  const line = parentElement.querySelector(".wb-status");
  if (line.textContent !== data.text) line.textContent = data.text;
}
"""

_announcer = st.components.v2.component("workbench_status", html=HTML, css=CSS, js=JS,
                                        isolate_styles=False)


def announce(text: str, *, key: str) -> None:
    """Show ``text`` in this view's live region (announced politely when it changes)."""
    _announcer(key=key, data={"text": text})
