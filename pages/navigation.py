"""The app's frame: st.navigation over the pages and the shared sidebar; runs on every rerun.

app.py serves this script (st.App); it lives next to the pages it lists, so Streamlit never
sees a pages/ folder beside its entry script and never starts in the legacy multipage mode.
Every page is a thin view over resnet_core (no training logic here).
"""

from __future__ import annotations

import streamlit as st

from pages.common import locked_lesson, manager, runs_dir, unlinked

st.set_page_config(page_title="ResNet Workbench", page_icon=":material/stacks:", layout="wide")

pages = [
    st.Page("home.py", title="Home", icon=":material/home:", default=True),
    st.Page("train.py", title="Train", icon=":material/model_training:"),
    st.Page("runs.py", title="Runs", icon=":material/table_view:"),
    st.Page("evaluate.py", title="Evaluate", icon=":material/analytics:"),
    st.Page("explain.py", title="Explain", icon=":material/visibility:"),
    st.Page("predict.py", title="Predict", icon=":material/image_search:"),
    st.Page("lessons.py", title="Lessons", icon=":material/school:"),
]
# A teacher's shared link (?lesson=...&locked=1) opens one lesson with everything else hidden.
locked = locked_lesson() is not None
page = st.navigation(pages, position="hidden" if locked else "sidebar")

with st.sidebar:
    jobs = manager().jobs()
    running = sum(j.state == "running" for j in jobs)
    queued = sum(j.state == "queued" for j in jobs)
    st.caption(f"Jobs: {running} running, {queued} queued")
    st.caption(f"Runs folder: `{runs_dir()}`")
    if manager().read_only:  # another server owns the runs folder: watch only
        st.warning(unlinked(manager().read_only))

if locked:
    st.html("<style>[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'] "
            "{display: none}</style>")
page.run()
