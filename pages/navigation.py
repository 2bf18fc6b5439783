"""The app's frame: st.navigation over the pages and the shared sidebar; runs on every rerun.

app.py serves this script (st.App); it lives next to the pages it lists, so Streamlit never
sees a pages/ folder beside its entry script and never starts in the legacy multipage mode.
Every page is a thin view over resnet_core (no training logic here).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from resnet_core import classroom

from pages.common import (
    CLASS,
    current_class,
    current_user,
    job_counts_caption,
    locked_lesson,
    manager,
    plain,
    runs_dir,
    unlinked,
)

# The icon ships with the app: a Material icon as favicon is fetched from the internet, and a
# class server or a laptop on a train has none.
st.set_page_config(page_title="ResNet Workbench", page_icon=str(Path(__file__).with_name("favicon.png")),
                   layout="wide")


def join_page() -> None:
    st.title("ResNet Workbench")
    st.info("This workbench is running for a class. Join with a display name to take part.")
    st.link_button("Join the class", "/join", type="primary")


PAGES = {
    "home": st.Page("home.py", title="Home", icon=":material/home:", default=True),
    "train": st.Page("train.py", title="Train", icon=":material/model_training:"),
    "challenge": st.Page("challenge.py", title="Challenge", icon=":material/emoji_events:"),
    "sweep": st.Page("sweep.py", title="Sweep", icon=":material/tune:"),
    "runs": st.Page("runs.py", title="Runs", icon=":material/table_view:"),
    "evaluate": st.Page("evaluate.py", title="Evaluate", icon=":material/analytics:"),
    "explain": st.Page("explain.py", title="Explain", icon=":material/visibility:"),
    "predict": st.Page("predict.py", title="Predict", icon=":material/image_search:"),
    "deploy": st.Page("deploy.py", title="Deploy", icon=":material/rocket_launch:"),
    "lessons": st.Page("lessons.py", title="Lessons", icon=":material/school:"),
    "teacher": st.Page("teacher.py", title="Teacher", icon=":material/admin_panel_settings:"),
}
# Which pages each role has. st.navigation serves only the pages it is given, so a student
# who types /teacher or /train gets the default page, not the controls; the core's actions
# check the user again whatever the page.
SINGLE = ["home", "train", "sweep", "runs", "evaluate", "explain", "predict", "deploy", "lessons"]
TEACHER = ["home", "train", "sweep", "challenge", "runs", "evaluate", "explain", "predict", "deploy", "lessons",
           "teacher"]
STUDENT = ["home", "challenge", "runs", "evaluate", "explain", "predict", "lessons"]
# The sidebar's sections, in the order a run goes: train it, inspect it, serve it; the class.
# (No section is named like a page: a header "Train" would read as the Train page.)
SECTIONS = {"Experiment": ["home", "train", "sweep", "runs"], "Inspect": ["evaluate", "explain", "predict"],
            "Serve": ["deploy"], "Class": ["lessons", "challenge", "teacher"]}


def sectioned(names: list[str]) -> dict[str, list]:
    """The role's pages under their section headers (sections with none of them left out)."""
    return {section: [PAGES[n] for n in members if n in names]
            for section, members in SECTIONS.items() if any(n in names for n in members)}


user = current_user()
locked = locked_lesson() is not None  # a student's class lock, or a teacher's shared link
if not CLASS:
    names = SINGLE
elif not classroom.is_member(user):  # not joined, or a forged or expired cookie
    names = []
elif user.is_teacher:
    names = TEACHER
else:
    names = ["lessons"] if locked else STUDENT
# Without a page marked default, st.navigation opens the first one (a locked student: Lessons).
if len(names) > 1:
    pages = sectioned(names)
elif names:
    pages = [PAGES[n] for n in names]
else:
    pages = [st.Page(join_page, title="Join", icon=":material/login:", default=True)]
# Streamlit's own sidebar navigation puts its sections' <div>s inside a <ul> (axe's "list"
# and "listitem" rules, serious, on every page); the same sections drawn as page links are
# plain links under plain captions, which a screen reader reads as they look.
page = st.navigation(pages, position="hidden")


def page_links(sections: dict[str, list]) -> None:
    """The navigation: each section's caption, then a link per page (the current one marked)."""
    # st.page_link draws no focus ring of its own: a keyboard user must see where Tab is.
    st.html("<style>.st-key-page_nav a:focus-visible {outline: 2px solid #1c6fd1; "
            "outline-offset: 2px; border-radius: 0.5rem}</style>")
    with st.container(key="page_nav"):
        for section, members in sections.items():
            st.caption(section)
            for member in members:
                st.page_link(member)


with st.sidebar:
    if len(names) > 1 and not locked:
        page_links(pages)
    if CLASS and classroom.is_member(user):
        st.caption(f"Signed in as **{plain(user.name)}** ({user.role}) · [sign out](/leave)")
    job_counts_caption()  # live fragments rerun the page when it goes stale
    if not CLASS or user.is_teacher:
        st.caption(f"Runs folder: `{runs_dir()}`")
    if manager().read_only:  # another server owns the runs folder: watch only
        st.warning(unlinked(manager().read_only))
    room = current_class()
    if room is not None and room.state.locked_lesson and user.is_teacher:
        st.caption(f"Students are locked to the lesson `{room.state.locked_lesson}`.")

if locked:
    st.html("<style>[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'] "
            "{display: none}</style>")
page.run()
