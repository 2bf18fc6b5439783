"""Teacher: the classes of the server and who teaches them, every job by student, stop or
delete any run, the class list, limits, the lesson lock, the challenge, the gradebook and who
changed what, for the class chosen in the sidebar.

Only in the navigation of a class's teachers and assistants (pages/navigation.py); an
assistant sees the jobs (to stop them), the challenge (to close and reveal it) and the changes.
Every action below also checks the user in the core (access, classroom, course, jobs), so this
page is a view, not the protection.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from resnet_core import WorkbenchError, classroom, data, i18n, runs, training
from resnet_core.i18n import _, ngettext, pgettext

from pages.announce import announce
from pages.common import (
    CLASS_KEY,
    REFRESH_S,
    acting_user,
    bench,
    class_predictions,
    current_class,
    fresh,
    keep_job_counts_current,
    plain,
    session,
    store,
    table_columns,
    translated_states,
    unlinked,
    when,
)
from pages.language import fragment, keyed

user = acting_user()
room = current_class()
if room is None or not user.teaches(room.id):
    st.error(_("This page is the teacher's."))
    st.stop()

st.title(_("Teacher"))
several = len(session().classes()) > 1
if several or room.state.name:
    st.caption(_("Class: **{name}**").format(name=plain(room.name)))


def act(action, done: str) -> None:
    try:
        action()
        fresh()
        st.toast(done)
    except WorkbenchError as e:
        st.error(unlinked(e))


# ------------------------------------------------------------------ the classes
def class_rows() -> list[dict]:
    """One row per class this teacher teaches: its name, join link, students and challenge."""
    base = str(getattr(st.context, "url", "") or "").split("?")[0].rstrip("/")
    base = base.rsplit("/", 1)[0] if base.count("/") > 2 else base  # the server, not this page
    return [{"class": c.name, "join link": base + classroom.join_path(c.id), "students": len(c.state.roster),
             "challenge": _("open") if c.state.challenge and c.state.challenge.is_open() else ""}
            for c in session().classes()]


if user.class_id == classroom.ALL_CLASSES:  # the server's teacher: every class, and new ones
    st.header(_("Classes"))
    st.caption(_("Each class has its own join link, class code, roster, limits, lesson lock and challenge; "
                 "a student joins one and sees only it. Switch between them in the sidebar."))
    st.dataframe(pd.DataFrame(class_rows()), hide_index=True, key="classes_table", column_config={
        "class": st.column_config.Column(pgettext("navigation", "Class")), "join link": st.column_config.LinkColumn(_("join link")),
        "students": st.column_config.Column(_("students")), "challenge": st.column_config.Column(_("challenge"))})
    with st.form("add_class", clear_on_submit=True):
        a1, a2 = st.columns([3, 1])
        new_name = a1.text_input(_("New class's name"), max_chars=40, placeholder=_("e.g. Section B"))
        if a2.form_submit_button(_("Add the class")):
            def add() -> None:
                st.session_state[CLASS_KEY] = session().add_class(new_name).id
            act(add, _("Class added; the sidebar shows it."))
            st.rerun()
    with st.form("rename_class"):
        n1, n2 = st.columns([3, 1])
        renamed = n1.text_input(_("This class's name"), room.state.name, max_chars=40,
                                placeholder=_("e.g. Section A"))
        if n2.form_submit_button(_("Rename")):
            act(lambda: session().rename_class(renamed), _("Renamed."))
            st.rerun()

    st.header(_("Teachers and assistants of this class"))
    st.caption(_("A link signs its holder in to this class only: a co-teacher has every control of the "
                 "class; an assistant can stop runs and close and reveal the challenge, but cannot "
                 "change limits or reset the class. Revoke a link to end its sessions at once."))
    with st.form("add_staff", clear_on_submit=True):
        s1, s2, s3 = st.columns([3, 2, 1])
        staff_name = s1.text_input(_("Their name"), max_chars=32)
        staff_role = s2.selectbox(_("Role"), ["teacher", "assistant"],
                                  format_func=lambda r: _("co-teacher") if r == "teacher" else _("assistant"))
        if s3.form_submit_button(_("Make a link")):
            act(lambda: st.session_state.update(staff_link=(staff_name, session().add_staff(staff_role, staff_name))),
                _("Link made: give it to them; it is shown once."))
    if "staff_link" in st.session_state:
        who, token = st.session_state.pop("staff_link")
        base = class_rows()[0]["join link"].removesuffix("/join")
        st.info(_("Link for **{name}** (shown once): `{link}`").format(name=plain(who), link=f"{base}/?token={token}"))
    links = session().staff()
    for link in links:
        k1, k2 = st.columns([5, 1])
        k1.write(f"{plain(link['name'])} · {_('co-teacher') if link['role'] == 'teacher' else _('assistant')} · "
                 f"{when(link['made_at'])}")
        if k2.button(_("Revoke"), key=f"revoke_{link['link']}"):
            act(lambda link=link: session().revoke_staff(link["link"]), _("Revoked."))
            st.rerun()

# ------------------------------------------------------------------ jobs by student
@fragment(run_every=REFRESH_S)
def jobs_by_student() -> None:
    keep_job_counts_current()
    st.header(_("Jobs by student"))
    rows = []
    here = session().class_id
    for run in store().runs():
        owner = run.owner
        if owner.id == classroom.LOCAL.id or bench().run_class(run) not in (here, None):
            continue  # the teacher's own CLI runs, and other classes' runs, are not this class's
        status = run.status
        state = run.state
        rows.append({"student": owner.name, "run_id": run.id, "state": state,
                     "arch": run.config.get("arch"), "step": status.get("step"),
                     "test_accuracy": run.result()["test_accuracy"] if state == "completed" else None})
    active = sum(row["state"] in runs.ACTIVE_STATES for row in rows)
    announce(_("Class runs: {n}, {active} queued or training.").format(n=len(rows), active=active),
             key="teacher_status")
    if not rows:
        st.caption(_("No class runs yet."))
        return
    table = pd.DataFrame(rows).sort_values(["student", "run_id"])
    active = table[table["state"].isin(runs.ACTIVE_STATES)]
    st.caption(_("{active} queued or running; {owners} owners.").format(
        active=len(active), owners=table["student"].nunique()))
    st.dataframe(translated_states(table), hide_index=True, key="class_jobs", column_config=table_columns(
        table, student=st.column_config.Column(_("student")), step=st.column_config.Column(_("step")),
        test_accuracy=st.column_config.NumberColumn(format="%.4f")))
    j1, j4, j2, j3 = st.columns([3, 3, 1, 1])
    run_id = j1.selectbox(_("Run"), table["run_id"].tolist(), key="teacher_run",
                          format_func=lambda r: f"{r} · {table.set_index('run_id').loc[r, 'student']}")
    reason = j4.text_input(_("Why (the student reads it)"), key="teacher_stop_reason", max_chars=200,
                           placeholder=_("e.g. resnet56 at 30 epochs holds the queue too long"))
    if j2.button(_("Stop"), key="teacher_stop", disabled=run_id not in set(active["run_id"])):
        act(lambda: session().stop(run_id, reason), _("Stopping {run}.").format(run=run_id))
    if user.is_teacher and j3.button(_("Delete"), key="teacher_delete", disabled=run_id in set(active["run_id"])):
        act(lambda: session().delete(run_id), _("Deleted {run}.").format(run=run_id))


jobs_by_student()

if user.is_teacher:  # an assistant stops runs and reveals; the rest is the teachers'
    # ------------------------------------------------------------------ the roster
    st.header(_("Students"))
    roster = room.state.roster
    st.caption(ngettext("Joined: {n} student", "Joined: {n} students", len(roster)).format(n=len(roster))
               + (f" ({', '.join(sorted(roster.values()))})" if roster else ""))
    if roster:
        r1, r2, r3 = st.columns([3, 1, 1])
        student = r1.selectbox(_("Student"), sorted(roster, key=roster.get), format_func=roster.get,
                               key="roster_student")
        if r2.button(_("New rejoin code"), key="rejoin_code",
                     help=_("for a student who lost their sign-in: it gets them back to their name and runs")):
            act(lambda: st.session_state.update(rejoin_shown=(roster[student], session().rejoin_code(student))),
                _("Read the code to the student; it works once."))
        if r3.button(_("Remove"), key="remove_student",
                     help=_("signs them out, stops their runs and frees the name; their runs stay on disk")):
            act(lambda: session().remove_student(student), _("Removed {name}.").format(name=roster[student]))
            st.rerun()
        if "rejoin_shown" in st.session_state:
            who, code = st.session_state.pop("rejoin_shown")
            st.info(_("Rejoin code for **{name}**: `{code}` (on /join, under \"Coming back to a name\")").format(
                name=plain(who), code=code))

    # ------------------------------------------------------------------ the class list
    st.header(_("Class list"))
    st.caption(_("A CSV file with a header row: name, and optionally student_id and email. Each name is "
                 "kept for its student: they join with it and the rejoin code below (print the table, "
                 "or download it). The ids and emails go into the gradebook."))
    listed = st.file_uploader(_("Class list (CSV)"), type=["csv"], key="class_list_file")
    if listed is not None and st.button(_("Import the class list"), key="import_class_list"):
        act(lambda: session().import_class_list(listed.getvalue()), _("The names are kept for their students."))
        st.rerun()
    codes = session().class_list()
    if codes:
        codes_table = pd.DataFrame(codes)
        st.dataframe(codes_table, hide_index=True, key="class_list_codes", column_config={
            "name": st.column_config.Column(_("name")), "student_id": st.column_config.Column(_("student id")),
            "email": st.column_config.Column(_("email")),
            "rejoin_code": st.column_config.Column(_("rejoin code (blank: joined)"))})
        st.download_button(_("Download the names and codes (CSV)"), codes_table.to_csv(index=False),
                           "class-list-codes.csv", "text/csv", key="class_list_download", on_click="ignore")

    # ------------------------------------------------------------------ the class's language
    st.header(_("The class's language"))
    languages = [None, *i18n.LANGUAGES]
    spoken = room.state.language
    language = st.selectbox(_("Pages, lessons and the join page speak"), languages, index=languages.index(spoken),
                            format_func=lambda t: _("each browser's own") if t is None else i18n.LANGUAGES[t],
                            key=keyed("class_language"),
                            help=_("what a student sees who has not chosen a language; each student can "
                                   "still switch for themself in the sidebar"))
    if language != spoken and st.button(_("Apply the language"), key="apply_language"):
        act(lambda: session().set_class_language(language), _("The class's language is set."))
        st.rerun()

    # ------------------------------------------------------------------ the lesson lock
    st.header(_("Lock the class to one lesson"))
    options = [None, *classroom.LESSONS]
    current = room.state.locked_lesson
    choice = st.selectbox(_("Students see only"), options, index=options.index(current) if current in options else 0,
                          format_func=lambda i: _("every page (no lock)") if i is None
                          else _("the lesson: {title}").format(title=_(classroom.LESSONS[i].title)),
                          key=keyed("lock_choice"))
    if choice != current and st.button(_("Apply the lock"), key="apply_lock"):
        act(lambda: session().lock_lesson(choice), _("Lock applied.") if choice else _("Lock lifted."))
        st.rerun()
    if current in classroom.LESSONS:
        class_predictions(classroom.lesson_for(current))

    # ------------------------------------------------------------------ limits
    st.header(_("Limits for students"))
    limits = room.state.limits
    with st.form("limits"):
        archs = st.multiselect(_("Architectures"), training.ARCHS, default=list(limits.architectures),
                               placeholder=_("Choose options"))
        bounds = classroom.LIMIT_BOUNDS

        def bounded(where, label: str, name: str, **kw) -> int:
            """A number field for one of ClassLimits' numbers, within the core's bounds."""
            return int(where.number_input(label, *bounds[name], getattr(limits, name), **kw))

        l1, l2, l3, l4 = st.columns(4)
        max_epochs = bounded(l1, _("Max epochs"), "max_epochs")
        max_steps = bounded(l2, _("Max steps"), "max_steps")
        max_image = bounded(l3, _("Max image size (px)"), "max_image_size")
        max_batch = bounded(l4, _("Max batch size"), "max_batch_size")
        m1, m2, m3, m4 = st.columns(4)
        per_student = bounded(m1, _("Runs at a time per student"), "active_per_student")
        lesson_runs = bounded(m4, _("Lesson runs at a time per student"), "lesson_runs_per_student",
                              help=_("shared lesson runs one student's clicks may have queued or running"))
        queue_cap = bounded(m2, _("Queue cap (all students)"), "queue_cap",
                            help=_("students' runs and lesson runs queued or running at once; your own "
                                   "runs and sweep trials are not counted"))
        per_address = bounded(m1, _("Runs at a time per address"), "active_per_address",
                              help=_("all names joined from one address (one machine) together; a class "
                                     "behind one shared address needs as many as it has students"))
        # A fixed help text and key: a help that changes on every run (it once showed a new random
        # example each time) gives the field a new identity, and the typed code was dropped.
        code = m3.text_input(_("Class code (empty: none)"), room.state.class_code or "", type="password",
                             key="class_code",
                             help=_("{n} characters or more; wrong codes are rate-limited per address").format(
                                 n=classroom.MIN_CODE_LENGTH))
        if st.form_submit_button(_("Save limits")):
            def save() -> None:
                session().set_class_code(code)  # first: a code too short saves nothing
                session().set_limits(classroom.ClassLimits(
                    architectures=tuple(archs), max_epochs=max_epochs, max_steps=max_steps,
                    max_image_size=max_image, max_batch_size=max_batch,
                    active_per_student=per_student, active_per_address=per_address,
                    lesson_runs_per_student=lesson_runs,
                    queue_cap=queue_cap))
            act(save, _("Limits saved."))

# ------------------------------------------------------------------ the challenge
st.header(_("Class challenge"))
challenge = room.state.challenge
if challenge is not None and challenge.is_open():
    st.write(_("Open on **{dataset}**; it closes at {when}.").format(dataset=challenge.dataset,
                                                                   when=when(challenge.closes_at)))
    c1, c2 = st.columns(2)
    if c1.button(_("Close now"), key="close_challenge"):
        act(lambda: session().close_challenge(), _("Closed."))
        st.rerun()
    if c2.button(_("Close and reveal the configurations"), key="reveal_challenge"):
        act(lambda: session().close_challenge(reveal=True), _("Closed; the configurations are shown."))
        st.rerun()
else:
    if challenge is not None:
        st.caption((_("The last challenge ({dataset}) closed at {when}; its configurations are revealed.")
                    if challenge.revealed else _("The last challenge ({dataset}) closed at {when}.")).format(
            dataset=challenge.dataset, when=when(challenge.closes_at)))
        if not challenge.revealed and st.button(_("Reveal its configurations"), key="reveal_closed"):
            act(lambda: session().close_challenge(reveal=True), _("Revealed."))
            st.rerun()
    if user.is_teacher:
        with st.form("open_challenge"):
            o1, o2, o3 = st.columns(3)
            dataset = o1.selectbox(_("Dataset"), data.BUILT_IN)
            minutes = o2.number_input(_("Minutes open"), *classroom.CHALLENGE_MINUTES, 20)
            anonymous = o3.toggle(_("Anonymous leaderboard"), False)
            if st.form_submit_button(_("Open the challenge"), type="primary"):
                act(lambda: session().open_challenge(dataset, float(minutes), anonymous=anonymous),
                    _("Challenge open: students see it on Challenge."))
                st.rerun()

# ------------------------------------------------------------------ the gradebook
if user.is_teacher:
    st.header(_("Gradebook"))
    st.caption(_("One row per student: name, student id, the challenge's best test accuracy and rank, "
                 "lessons done, quiz answers right, runs. As plain CSV, or ready for Canvas's or Moodle's "
                 "grade import (docs/classroom.md says how to import each)."))
    acting = session()
    g1, g2, g3 = st.columns(3)
    for where, shape, label in ((g1, "csv", _("Gradebook (CSV)")), (g2, "canvas", _("For Canvas (CSV)")),
                                (g3, "moodle", _("For Moodle (CSV)"))):
        # Made on the click (a thread of Streamlit's): the columns are the LMSs' own, in English.
        where.download_button(label, lambda shape=shape: acting.gradebook(shape), f"gradebook-{shape}.csv", "text/csv",
                              key=f"gradebook_{shape}", on_click="ignore")

# ------------------------------------------------------------------ who changed what
st.header(_("Changes to the class"))
changes = session().class_actions()
if changes:
    shown = pd.DataFrame(changes)[["at", "who", "role", "action", "detail"]]
    roles = {"teacher": _("teacher"), "assistant": _("assistant")}
    shown = shown.assign(action=[_(a) for a in shown["action"]], role=[roles.get(r, r) for r in shown["role"]])
    st.dataframe(shown, hide_index=True,
                 key="class_changes", column_config={
                     "at": st.column_config.Column(_("when (UTC)")), "who": st.column_config.Column(_("who")),
                     "role": st.column_config.Column(_("role")), "action": st.column_config.Column(_("change")),
                     "detail": st.column_config.Column(_("detail"))})
else:
    st.caption(_("No change to the class yet."))

if user.is_teacher:
    # ------------------------------------------------------------------ reset
    st.header(_("Reset the class"))
    with st.popover(_("Reset the class")):
        st.write(_("Stops every student's queued or running run, forgets the roster (students join "
                   "again), lifts the lock and closes the challenge. Runs stay on disk."))
        if st.button(_("Reset for good"), type="primary", key="reset_class"):
            act(session().reset_class, _("The class is reset."))
            st.rerun()
