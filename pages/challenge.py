"""Challenge: students submit configurations inside the teacher's limits; a live leaderboard.

Ranked by test accuracy, then by training seconds (classroom.Classroom.entries). After the
teacher closes and reveals it, every entry's configuration is shown against the winner's.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import streamlit as st

from resnet_core import TrainConfig, WorkbenchError, classroom, runs, training
from resnet_core.i18n import _, ngettext

from pages.announce import announce
from pages.common import (
    REFRESH_S,
    acting_user,
    challenge_entries,
    current_class,
    fresh,
    keep_job_counts_current,
    plain,
    session,
    state_name,
    unlinked,
    when,
)
from pages.language import fragment

st.title(_("Class challenge"))
user = acting_user()
room = current_class()
challenge = room.state.challenge if room else None
if challenge is None:
    st.info(_("No challenge yet. The teacher opens one on the **Teacher** page."))
    st.stop()

closes = datetime.fromisoformat(challenge.closes_at)
is_open = challenge.is_open()
limits = challenge.limits
st.markdown(_("Train the most accurate ResNet on **{dataset}**. Ranked by test accuracy, then by "
              "training time (fewer seconds first).").format(dataset=challenge.dataset))
c1, c2, c3 = st.columns(3)
c1.metric(_("Dataset"), challenge.dataset)
left = (closes - datetime.now(timezone.utc)).total_seconds()
c2.metric(_("Closes in") if is_open else _("Closed"),
          _("{minutes} min").format(minutes=f"{left / 60:.0f}") if is_open else
          when(challenge.closes_at, relative=False))  # the browser's clock, not UTC
c3.metric(_("Runs at a time, each"), limits.active_per_student)
st.caption(_("Limits: architectures {archs}; up to {epochs} epochs; batch up to {batch}; images up to "
             "{size} px.").format(archs=", ".join(limits.architectures), epochs=limits.max_epochs,
                                  batch=limits.max_batch_size, size=limits.max_image_size))

# ------------------------------------------------------------------ submit
if is_open and user.role == "student":  # teachers and assistants watch
    with st.form("challenge_submit"):
        f1, f2, f3, f4 = st.columns(4)
        arch = f1.selectbox(_("Architecture"), limits.architectures,
                            index=min(2, len(limits.architectures) - 1))
        optimizer = f2.selectbox(_("Optimizer"), training.OPTIMIZERS)
        lr = f3.number_input(_("Learning rate"), 0.0001, 2.0, 0.1, format="%.4f")
        scheduler = f4.selectbox(_("Schedule"), training.SCHEDULERS, index=training.SCHEDULERS.index("cosine"))
        g1, g2, g3, g4 = st.columns(4)
        epochs = g1.number_input(_("Epochs"), 1, limits.max_epochs, min(10, limits.max_epochs))
        batch_size = g2.number_input(_("Batch size"), 8, limits.max_batch_size, min(128, limits.max_batch_size),
                                     step=16)
        augment = g3.toggle(_("Augmentation"), True)
        seed = g4.number_input(_("Seed"), 0, 10_000, 0)
        if st.form_submit_button(_("Submit my run"), type="primary"):
            config = TrainConfig(dataset=challenge.dataset, arch=arch, optimizer=optimizer, lr=float(lr),
                                 scheduler=scheduler, epochs=int(epochs), batch_size=int(batch_size),
                                 augment=augment, seed=int(seed), probe_snapshots=0)
            try:
                session().submit(config)
                fresh()
                st.toast(_("Submitted: it trains when its turn comes (students take turns)."))
            except WorkbenchError as e:
                st.error(unlinked(e))
elif not is_open:
    st.info(_("The challenge is closed: no new entries."))


@fragment(run_every=REFRESH_S)
def board() -> None:
    """The live part: this user's runs and the leaderboard, refreshed without the page."""
    keep_job_counts_current()
    entries = challenge_entries(challenge.id)
    mine = [e for e in entries if e["owner_id"] == user.id]
    if mine:
        st.header(_("Your runs"))
        for e in mine:
            r1, r2 = st.columns([4, 1])
            acc = f"{e['test_accuracy']:.4f}" if e["test_accuracy"] is not None else "-"
            r1.write(_("`{run}` · {state} · {arch}, lr {lr}, {epochs} epochs · test accuracy {accuracy}").format(
                run=e["run_id"], state=state_name(e["state"]), arch=e["config"]["arch"], lr=e["config"]["lr"],
                epochs=e["config"]["epochs"], accuracy=acc))
            if e["state"] in runs.ACTIVE_STATES and r2.button(_("Stop"), key=f"stop_{e['run_id']}"):
                try:
                    session().stop(e["run_id"])
                    fresh()
                except WorkbenchError as err:
                    st.error(unlinked(err))
    st.header(_("Leaderboard"))
    rows = classroom.leaderboard(entries)
    announce((ngettext("Leaderboard: {n} entry, first {name}.", "Leaderboard: {n} entries, first {name}.", len(rows))
              if rows else _("Leaderboard: no entries.")).format(n=len(rows), name=rows[0]["name"] if rows else ""),
             key="challenge_status")
    if not rows:
        waiting = sum(e["state"] in runs.ACTIVE_STATES for e in entries)
        st.caption(_("No finished entries yet ({n} training or queued).").format(n=waiting))
    else:
        # st.table, not st.dataframe: a short board, readable at a glance on a projector.
        table = pd.DataFrame([{_("rank"): r["rank"], _("name"): r["name"],
                               _("test accuracy"): f"{r['test_accuracy']:.4f}",
                               _("training time"): runs.duration(r["train_seconds"]), _("entries"): r["entries"]}
                              for r in rows]).set_index(_("rank"))
        st.table(table)
    waiting = [e for e in entries if e["state"] in runs.ACTIVE_STATES]
    if waiting:
        st.caption(ngettext("{n} entry training or queued.", "{n} entries training or queued.",
                            len(waiting)).format(n=len(waiting)))


board()

# ------------------------------------------------------------------ the reveal
if challenge.revealed:
    entries = [e for e in challenge_entries(challenge.id) if e["test_accuracy"] is not None]
    if entries:
        st.header(_("What did the best runs change?"))
        winner = entries[0]
        st.markdown(_("Winner: **{name}**, test accuracy {accuracy} in {duration}.").format(
            name=plain(winner["name"]), accuracy=f"{winner['test_accuracy']:.4f}",
            duration=runs.duration(winner["train_seconds"])))
        rows = [{_("rank"): e["rank"], _("name"): e["name"], _("test accuracy"): e["test_accuracy"],
                 _("changes from the winner"): "; ".join(f"{k}: {v}" for k, v in
                                                        classroom.config_changes(winner["config"], e["config"]).items())
                 or _("same settings")}
                for e in entries]
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="reveal")
