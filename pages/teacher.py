"""Teacher: every job by student, stop or delete any run, limits, the lesson lock, the challenge.

Only in the teacher's navigation (pages/navigation.py); every action below also checks the
user in the core (access, classroom, jobs), so this page is a view, not the protection.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from resnet_core import WorkbenchError, classroom, data, runs, training

from pages.announce import announce
from pages.common import (
    REFRESH_S,
    acting_user,
    class_predictions,
    current_class,
    fresh,
    keep_job_counts_current,
    plain,
    session,
    store,
    unlinked,
    when,
)

user = acting_user()
room = current_class()
if room is None or not user.is_teacher:
    st.error("This page is the teacher's.")
    st.stop()

st.title("Teacher")


def act(action, done: str) -> None:
    try:
        action()
        fresh()
        st.toast(done)
    except WorkbenchError as e:
        st.error(unlinked(e))


# ------------------------------------------------------------------ jobs by student
@st.fragment(run_every=REFRESH_S)
def jobs_by_student() -> None:
    keep_job_counts_current()
    st.header("Jobs by student")
    rows = []
    for run in store().runs():
        owner = run.owner
        if owner.id == classroom.LOCAL.id:
            continue  # the teacher's own CLI runs are not the class's
        status = run.status
        state = run.state
        rows.append({"student": owner.name, "run_id": run.id, "state": state,
                     "arch": run.config.get("arch"), "step": status.get("step"),
                     "test_accuracy": run.result()["test_accuracy"] if state == "completed" else None})
    active = sum(row["state"] in runs.ACTIVE_STATES for row in rows)
    announce(f"Class runs: {len(rows)}, {active} queued or training.", key="teacher_status")
    if not rows:
        st.caption("No class runs yet.")
        return
    table = pd.DataFrame(rows).sort_values(["student", "run_id"])
    active = table[table["state"].isin(runs.ACTIVE_STATES)]
    st.caption(f"{len(active)} queued or running; {table['student'].nunique()} owners.")
    st.dataframe(table, hide_index=True, key="class_jobs",
                 column_config={"test_accuracy": st.column_config.NumberColumn(format="%.4f")})
    j1, j4, j2, j3 = st.columns([3, 3, 1, 1])
    run_id = j1.selectbox("Run", table["run_id"].tolist(), key="teacher_run",
                          format_func=lambda r: f"{r} · {table.set_index('run_id').loc[r, 'student']}")
    reason = j4.text_input("Why (the student reads it)", key="teacher_stop_reason", max_chars=200,
                           placeholder="e.g. resnet56 at 30 epochs holds the queue too long")
    if j2.button("Stop", key="teacher_stop", disabled=run_id not in set(active["run_id"])):
        act(lambda: session().stop(run_id, reason), f"Stopping {run_id}.")
    if j3.button("Delete", key="teacher_delete", disabled=run_id in set(active["run_id"])):
        act(lambda: session().delete(run_id), f"Deleted {run_id}.")


jobs_by_student()

# ------------------------------------------------------------------ the roster
st.header("Students")
roster = room.state.roster
st.caption(f"Joined: {len(roster)} students" + (f" ({', '.join(sorted(roster.values()))})" if roster else ""))
if roster:
    r1, r2, r3 = st.columns([3, 1, 1])
    student = r1.selectbox("Student", sorted(roster, key=roster.get), format_func=roster.get,
                           key="roster_student")
    if r2.button("New rejoin code", key="rejoin_code",
                 help="for a student who lost their sign-in: it gets them back to their name and runs"):
        act(lambda: st.session_state.update(rejoin_shown=(roster[student], session().rejoin_code(student))),
            "Read the code to the student; it works once.")
    if r3.button("Remove", key="remove_student",
                 help="signs them out, stops their runs and frees the name; their runs stay on disk"):
        act(lambda: session().remove_student(student), f"Removed {roster[student]}.")
        st.rerun()
    if "rejoin_shown" in st.session_state:
        who, code = st.session_state.pop("rejoin_shown")
        st.info(f"Rejoin code for **{plain(who)}**: `{code}` (on /join, under \"Coming back to a name\")")

# ------------------------------------------------------------------ the lesson lock
st.header("Lock the class to one lesson")
options = [None, *classroom.LESSONS]
current = room.state.locked_lesson
choice = st.selectbox("Students see only", options, index=options.index(current) if current in options else 0,
                      format_func=lambda i: "every page (no lock)" if i is None else f"the lesson: {classroom.LESSONS[i].title}",
                      key="lock_choice")
if choice != current and st.button("Apply the lock", key="apply_lock"):
    act(lambda: session().lock_lesson(choice), "Lock applied." if choice else "Lock lifted.")
    st.rerun()
if current in classroom.LESSONS:
    class_predictions(classroom.lesson_for(current))

# ------------------------------------------------------------------ limits
st.header("Limits for students")
limits = room.state.limits
with st.form("limits"):
    archs = st.multiselect("Architectures", training.ARCHS, default=list(limits.architectures))
    bounds = classroom.LIMIT_BOUNDS

    def bounded(where, label: str, name: str, **kw) -> int:
        """A number field for one of ClassLimits' numbers, within the core's bounds."""
        return int(where.number_input(label, *bounds[name], getattr(limits, name), **kw))

    l1, l2, l3, l4 = st.columns(4)
    max_epochs = bounded(l1, "Max epochs", "max_epochs")
    max_steps = bounded(l2, "Max steps", "max_steps")
    max_image = bounded(l3, "Max image size (px)", "max_image_size")
    max_batch = bounded(l4, "Max batch size", "max_batch_size")
    m1, m2, m3, m4 = st.columns(4)
    per_student = bounded(m1, "Runs at a time per student", "active_per_student")
    lesson_runs = bounded(m4, "Lesson runs at a time per student", "lesson_runs_per_student",
                          help="shared lesson runs one student's clicks may have queued or running")
    queue_cap = bounded(m2, "Queue cap (all students)", "queue_cap",
                        help="students' runs and lesson runs queued or running at once; your own "
                             "runs and sweep trials are not counted")
    per_address = bounded(m1, "Runs at a time per address", "active_per_address",
                          help="all names joined from one address (one machine) together; a class "
                               "behind one shared address needs as many as it has students")
    # A fixed help text and key: a help that changes on every run (it once showed a new random
    # example each time) gives the field a new identity, and the typed code was dropped.
    code = m3.text_input("Class code (empty: none)", room.state.class_code or "", type="password",
                         key="class_code",
                         help=f"{classroom.MIN_CODE_LENGTH} characters or more; wrong codes are "
                              "rate-limited per address")
    if st.form_submit_button("Save limits"):
        def save() -> None:
            session().set_class_code(code)  # first: a code too short saves nothing
            session().set_limits(classroom.ClassLimits(
                architectures=tuple(archs), max_epochs=max_epochs, max_steps=max_steps,
                max_image_size=max_image, max_batch_size=max_batch,
                active_per_student=per_student, active_per_address=per_address,
                lesson_runs_per_student=lesson_runs,
                queue_cap=queue_cap))
        act(save, "Limits saved.")

# ------------------------------------------------------------------ the challenge
st.header("Class challenge")
challenge = room.state.challenge
if challenge is not None and challenge.is_open():
    st.write(f"Open on **{challenge.dataset}**; it closes at {when(challenge.closes_at)}.")
    c1, c2 = st.columns(2)
    if c1.button("Close now", key="close_challenge"):
        act(lambda: session().close_challenge(), "Closed.")
        st.rerun()
    if c2.button("Close and reveal the configurations", key="reveal_challenge"):
        act(lambda: session().close_challenge(reveal=True), "Closed; the configurations are shown.")
        st.rerun()
else:
    if challenge is not None:
        st.caption(f"The last challenge ({challenge.dataset}) closed at {when(challenge.closes_at)}"
                   + ("; its configurations are revealed." if challenge.revealed else "."))
        if not challenge.revealed and st.button("Reveal its configurations", key="reveal_closed"):
            act(lambda: session().close_challenge(reveal=True), "Revealed.")
            st.rerun()
    with st.form("open_challenge"):
        o1, o2, o3 = st.columns(3)
        dataset = o1.selectbox("Dataset", data.BUILT_IN)
        minutes = o2.number_input("Minutes open", *classroom.CHALLENGE_MINUTES, 20)
        anonymous = o3.toggle("Anonymous leaderboard", False)
        if st.form_submit_button("Open the challenge", type="primary"):
            act(lambda: session().open_challenge(dataset, float(minutes), anonymous=anonymous),
                "Challenge open: students see it on Challenge.")
            st.rerun()

# ------------------------------------------------------------------ reset
st.header("Reset the class")
with st.popover("Reset the class"):
    st.write("Stops every student's queued or running run, forgets the roster (students join "
             "again), lifts the lock and closes the challenge. Runs stay on disk.")
    if st.button("Reset for good", type="primary", key="reset_class"):
        act(session().reset_class, "The class is reset.")
        st.rerun()
