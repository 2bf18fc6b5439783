"""The app's frame: st.navigation over the pages and the shared sidebar; runs on every rerun.

app.py serves this script (st.App); it lives next to the pages it lists, so Streamlit never
sees a pages/ folder beside its entry script and never starts in the legacy multipage mode.
Every page is a thin view over resnet_core (no training logic here).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from resnet_core import classroom
from resnet_core.i18n import N_, _, pgettext

from pages.common import (
    CLASS,
    CLASS_KEY,
    current_class,
    current_user,
    job_counts_caption,
    locked_lesson,
    manager,
    plain,
    runs_dir,
    session,
    unlinked,
)
from pages.language import switch, use_language

# The icon ships with the app: a Material icon as favicon is fetched from the internet, and a
# class server or a laptop on a train has none.
st.set_page_config(page_title="ResNet Workbench", page_icon=str(Path(__file__).with_name("favicon.png")),
                   layout="wide")
room = current_class()
# First: every text below, and the page's, is in this session's language.
language = use_language(room.state.language if room is not None else None)


def join_page() -> None:
    st.title("ResNet Workbench")
    st.info(_("This workbench is running for a class. Join with a display name to take part."))
    st.link_button(_("Join the class"), f"/join?lang={language}", type="primary")


# The pages' paths (and so their URLs: /train) stay English; their titles are the reader's.
PAGES = {
    "home": st.Page("home.py", title=_("Home"), icon=":material/home:", default=True),
    "train": st.Page("train.py", title=_("Train"), icon=":material/model_training:"),
    "challenge": st.Page("challenge.py", title=_("Challenge"), icon=":material/emoji_events:"),
    "sweep": st.Page("sweep.py", title=_("Sweep"), icon=":material/tune:"),
    "runs": st.Page("runs.py", title=_("Runs"), icon=":material/table_view:"),
    "evaluate": st.Page("evaluate.py", title=_("Evaluate"), icon=":material/analytics:"),
    "explain": st.Page("explain.py", title=_("Explain"), icon=":material/visibility:"),
    "predict": st.Page("predict.py", title=_("Predict"), icon=":material/image_search:"),
    "deploy": st.Page("deploy.py", title=_("Deploy"), icon=":material/rocket_launch:"),
    "lessons": st.Page("lessons.py", title=_("Lessons"), icon=":material/school:"),
    "teacher": st.Page("teacher.py", title=_("Teacher"), icon=":material/admin_panel_settings:"),
}
# Which pages each role has. st.navigation serves only the pages it is given, so a student
# who types /teacher or /train gets the default page, not the controls; the core's actions
# check the user again whatever the page.
SINGLE = ["home", "train", "sweep", "runs", "evaluate", "explain", "predict", "deploy", "lessons"]
TEACHER = ["home", "train", "sweep", "challenge", "runs", "evaluate", "explain", "predict", "deploy", "lessons",
           "teacher"]
STUDENT = ["home", "challenge", "runs", "evaluate", "explain", "predict", "lessons"]
ASSISTANT = STUDENT + ["teacher"]  # a class's assistant: no Train page, the class's Teacher page
# The sidebar's sections, in the order a run goes: train it, inspect it, serve it; the class.
# (No section is named like a page: a header "Train" would read as the Train page.)
SECTIONS = {"Experiment": ["home", "train", "sweep", "runs"], "Inspect": ["evaluate", "explain", "predict"],
            "Serve": ["deploy"], "Class": ["lessons", "challenge", "teacher"]}


def section_title(section: str) -> str:
    """A section's header in the reader's language (its own sense: "Class" is a class of students)."""
    return {"Experiment": pgettext("navigation", "Experiment"), "Inspect": pgettext("navigation", "Inspect"),
            "Serve": pgettext("navigation", "Serve"), "Class": pgettext("navigation", "Class")}[section]


def sectioned(names: list[str]) -> dict[str, list]:
    """The role's pages under their section headers (sections with none of them left out)."""
    return {section_title(section): [PAGES[n] for n in members if n in names]
            for section, members in SECTIONS.items() if any(n in names for n in members)}


user = current_user()
locked = locked_lesson() is not None  # a student's class lock, or a teacher's shared link
if not CLASS:
    names = SINGLE
elif not classroom.is_member(user):  # not joined, or a forged or expired cookie
    names = []
elif user.is_teacher:
    names = TEACHER
elif user.is_staff:
    names = ASSISTANT
else:
    names = ["lessons"] if locked else STUDENT
# Without a page marked default, st.navigation opens the first one (a locked student: Lessons).
if len(names) > 1:
    pages = sectioned(names)
elif names:
    pages = [PAGES[n] for n in names]
else:
    pages = [st.Page(join_page, title=_("Join"), icon=":material/login:", default=True)]
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


ROLES = {"teacher": N_("teacher"), "assistant": N_("assistant"), "student": N_("student"), "local": N_("local")}


def class_switch() -> None:
    """The server's teacher's class, when the server has several: every page follows it."""
    classes = session().classes()
    if len(classes) < 2:
        return
    ids = [c.id for c in classes]
    names = {c.id: c.name for c in classes}
    here = session().class_id
    key = f"class_pick_{len(ids)}"  # a new class makes a new box, which starts on the new class

    def switched() -> None:
        st.session_state[CLASS_KEY] = st.session_state[key]

    st.selectbox(pgettext("navigation", "Class"), ids, index=ids.index(here) if here in ids else 0, format_func=names.get,
                 key=key, on_change=switched)

with st.sidebar:
    if len(names) > 1 and not locked:
        page_links(pages)
    if CLASS and user.is_teacher:
        class_switch()
    if CLASS and classroom.is_member(user):
        st.caption(_("Signed in as **{name}** ({role}) · [sign out](/leave)").format(
            name=plain(user.name), role=_(ROLES.get(user.role, user.role))))
    job_counts_caption()  # live fragments rerun the page when it goes stale
    if not CLASS or user.is_teacher:
        st.caption(_("Runs folder: `{path}`").format(path=runs_dir()))
    if manager().read_only:  # another server owns the runs folder: watch only
        st.warning(unlinked(manager().read_only))
    if room is not None and room.state.locked_lesson and user.is_teacher:
        st.caption(_("Students are locked to the lesson `{lesson}`.").format(lesson=room.state.locked_lesson))
    if not locked:
        switch(language)

if locked:  # the sidebar is hidden: the switch goes above the lesson
    st.html("<style>[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'] "
            "{display: none}</style>")
    switch(language)
page.run()
