"""Helpers shared by the pages: the Workbench and this browser's Session, cached readers,
small widgets.

Not a page itself (app.py lists the pages). Streamlit lives here and in the pages only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import streamlit as st

from resnet_core import CheckpointError, analysis, classroom, data, i18n, runs, serving, workbench
from resnet_core.i18n import N_, _, ngettext
from resnet_core.settings import settings

# Seconds between live refreshes. DESIGN.md: at 0.5 s page reruns cost the training loop a
# third of its speed even out of process; 1-2 s keeps it near full speed.
REFRESH_S = settings().refresh_s
STATE_ICONS = {"queued": ":material/schedule:", "running": ":material/play_circle:",
               "completed": ":material/check_circle:", "failed": ":material/error:",
               "stopped": ":material/stop_circle:", "pruned": ":material/content_cut:", "interrupted": ":material/warning:",
               "imported": ":material/input:"}
# The states as a person reads them; run folders keep the English names (a contract).
STATE_NAMES = {"queued": N_("queued"), "running": N_("running"), "completed": N_("completed"),
               "failed": N_("failed"), "stopped": N_("stopped"), "pruned": N_("pruned"),
               "interrupted": N_("interrupted"), "imported": N_("imported"), "unknown": N_("unknown")}
# The headers of a chart's "Show as a table" (the frames keep the run folder's names).
TABLE_HEADERS = {"split": N_("split"), "epoch": N_("epoch"), "step": N_("step"), "loss": N_("loss"),
                 "accuracy": N_("accuracy"), "run": N_("run"), "block": N_("block"),
                 "grad_norm": N_("gradient norm"), "branch_ratio": N_("||F(x)|| / ||shortcut(x)||"),
                 "lr": N_("learning rate"), "smoothed_loss": N_("smoothed loss"), "seconds": N_("seconds"),
                 "throughput": N_("images per second"), "p50": N_("latency p50 (ms)"),
                 "p99": N_("latency p99 (ms)"), "images": N_("images"), "class": N_("class"),
                 "probability": N_("probability"), "k": N_("images per class (k)"), "start": N_("start"),
                 "test accuracy": N_("test accuracy")}
# The run table's columns as headers; the table's data keeps the run folder's names.
COLUMN_NAMES = {"run_id": N_("run"), "owner": N_("owner"), "state": N_("state"),
                "test_accuracy": N_("test accuracy"), "best_val_accuracy": N_("best validation accuracy"),
                "name": N_("name"), "arch": N_("architecture"), "dataset": N_("dataset"),
                "epochs": N_("epochs"), "epoch": N_("epoch"), "lr": N_("learning rate"),
                "batch_size": N_("batch size"), "optimizer": N_("optimizer"), "created": N_("created"),
                "started_at": N_("started"), "duration": N_("duration"), "device": N_("device"),
                "kind": N_("kind"), "preset": N_("recipe"), "error": N_("error"), "seed": N_("seed"),
                "params": N_("parameters"), "steps": N_("steps"), "dataset_size": N_("dataset size")}


def bench() -> workbench.Workbench:
    """The app's Workbench (its runs folder, queue, class, data folder and deployments),
    shared by every browser session; app.py's lifespan opens and closes it."""
    return workbench.open_workbench()


def runs_dir() -> Path:
    return bench().runs_dir


def manager():
    """The app's job queue (read-only uses: its jobs; actions go through ``session()``)."""
    return bench().jobs


def executor_line() -> str:
    """Where the queue's runs train and how many at once (the Home page): the executor's own
    line, or why its cluster does not answer."""
    try:
        return manager().executor.describe()
    except Exception as e:  # noqa: BLE001 - a cluster that went away: say so, keep the page
        return _("{executor}: not answering ({error})").format(executor=manager().executor.name,
                                                               error=str(e).splitlines()[0][:120])


CLASS = settings().class_mode  # RESNET_WORKBENCH_MODE=class, read once when the server starts


def job_counts_caption() -> None:
    """The sidebar's "Jobs: N running, M queued", as the queue has it now; remembered so that
    live fragments can tell when it went stale (``keep_job_counts_current``)."""
    counts = manager().counts()
    st.session_state["sidebar_job_counts"] = counts
    st.caption(_("Jobs: {running} running, {queued} queued").format(**counts))


def keep_job_counts_current() -> None:
    """Called in each live fragment: when the queue's counts differ from the sidebar's (a job
    started, finished or was queued since the page was drawn), rerun the whole page so the
    sidebar matches the queue at every refresh. A fragment cannot draw in the sidebar, and a
    timed fragment of its own in every tab starved page loads (the load test); this reruns
    only when a count changed."""
    if manager().counts() != st.session_state.get("sidebar_job_counts"):
        st.rerun()


def current_class() -> classroom.Classroom | None:
    """The class this session is in (class mode: a student's, or the one a teacher of
    several switched to), else None."""
    return session().room


def session() -> workbench.Session:
    """This browser's user and what they may do: ``LOCAL`` in single-user mode; on a class
    server the user of the signed session cookie, or ``NOBODY`` (every action refused), in
    their class (the server's teacher: the class chosen in the sidebar, ``CLASS_KEY``)."""
    if not CLASS:
        return bench().session_for_cookie(None)
    return bench().session_for_cookie(st.context.cookies.get(classroom.COOKIE),
                                      st.session_state.get(CLASS_KEY))


CLASS_KEY = "class_id"  # st.session_state: the class a teacher of several is looking at


def current_user() -> classroom.User:
    """Who is acting (``NOBODY`` on a class server for someone who has not joined)."""
    return session().user


def acting_user() -> classroom.User:
    """current_user(), stopping the page for someone who has not joined."""
    user = current_user()
    if not classroom.is_member(user):
        st.warning(_("Join the class first."))
        st.link_button(_("Join the class"), "/join")
        st.stop()
    return user


@st.cache_data(ttl=1.0, max_entries=4, show_spinner=False)
def _run_table(root: str, with_owner: bool):
    store = runs.RunStore(root)
    table = store.table()
    if with_owner and not table.empty:
        table.insert(1, "owner", [store.get(r).owner.name for r in table["run_id"]])
    if CLASS and not table.empty:  # whose class each run is: a student sees their class's
        table["class_id"] = [bench().run_class(store.get(r)) for r in table["run_id"]]
    # The figures a person looks for first, before the columns that run off the right edge
    # (test_accuracy was out of view at 1400 px); an unnamed run's name is blank, not "None".
    first = [c for c in ("run_id", "owner", "state", "test_accuracy", "best_val_accuracy", "name")
             if c in table.columns]
    table = table[first + [c for c in table.columns if c not in first]]
    return table.assign(name=table["name"].fillna(""))


def run_table(with_owner: bool = False):
    """RunStore.table() (with who queued each run on a class server), read from the folders at
    most once a second for every session together: thirty students opening Home or Runs
    share one read instead of thirty."""
    table = _run_table(str(runs_dir()), with_owner)
    if "class_id" in table.columns:
        who = session()
        table = table[[who.sees_class(c) for c in table["class_id"]]].drop(columns="class_id")
    return table


@st.cache_data(ttl=1.0, max_entries=16, show_spinner=False)
def _lesson_runs(root: str, lesson_id: str) -> dict:
    return classroom.lesson_runs(runs.RunStore(root), classroom.lesson_for(lesson_id))


def lesson_runs_now(lesson_id: str) -> dict:
    """lessons.lesson_runs for one lesson, shared by every session for a second."""
    return _lesson_runs(str(runs_dir()), lesson_id)


@st.cache_data(ttl=1.0, max_entries=16, show_spinner=False)
def _challenge_entries(root: str, class_id: str, challenge_id: str) -> list[dict]:
    room = bench().course.get(class_id)
    return room.entries(runs.RunStore(root)) if room.state.challenge else []


def challenge_entries(challenge_id: str) -> list[dict]:
    """This session's class's challenge entries, best first; one read of the run folders a
    second for the whole class (thirty leaderboards refreshing every 2 s share it)."""
    return _challenge_entries(str(runs_dir()), session().class_id, challenge_id)


def fresh() -> None:
    """After this session changed runs (queued, stopped, deleted): drop the shared one-second
    reads so its next render shows the change."""
    for cached in (_run_table, _lesson_runs, _challenge_entries):
        cached.clear()


def may_control(run: runs.Run) -> bool:
    """Whether the acting user may stop, resume or delete ``run`` (the core checks again)."""
    return session().may_control(run.id)


def is_student() -> bool:
    """Whether this user trains within the class's limits (a student, or an assistant)."""
    return not current_user().is_teacher


def class_predictions(lesson) -> None:
    """For the teachers and assistants of a class: how the students predicted ``lesson``'s
    answer so far, before the runs reveal it (issue 38, item 16)."""
    room = current_class()
    if room is None or not current_user().is_staff:
        return
    votes = session().tally(lesson)
    st.markdown(_("**How the class predicted**"))
    st.caption(ngettext("{n} of {total} student has locked in a prediction; the answer shows when the "
                        "lesson's runs have completed.",
                        "{n} of {total} students have locked in a prediction; the answer shows when "
                        "the lesson's runs have completed.", len(room.state.roster)).format(
        n=sum(votes), total=len(room.state.roster)))
    st.markdown("\n".join(f"- {plain(_(choice))}: **{n}**" for choice, n in zip(lesson.choices, votes, strict=True)))


def store() -> runs.RunStore:
    return runs.RunStore(runs_dir())


# Every cache in the server process is bounded (a class server runs for hours): the least
# recently used entries go first.
@st.cache_resource(max_entries=256)
def _tail(path: str) -> runs.MetricsTail:
    return runs.MetricsTail(Path(path))


def metrics_tail(run_dir: Path) -> runs.MetricsTail:
    """One incremental reader per run, shared by all tabs: reruns read only new lines."""
    return _tail(str(runs.Run(Path(run_dir)).metrics_path))


@st.cache_resource(max_entries=4, show_spinner=False)  # the callers' spinner speaks the reader's language
def dataset(name: str, data_root: str = data.DEFAULT_ROOT, image_size: int | None = None,
            val_fraction: float = 0.1, seed: int = 0):
    return data.load_dataset(name, data_root=data_root, image_size=image_size,
                        val_fraction=val_fraction, seed=seed)


def datasets_here(data_root: str) -> pd.DataFrame:
    """One row per dataset: whether it is on this machine, and where (the registry's rule)."""
    return pd.DataFrame([{_("dataset"): name, _("where"): data.availability(spec, data_root)}
                         for name, spec in data.DATASETS.items()])


def dataset_for_run(config: dict):
    with st.spinner(_("Loading the dataset...")):
            return dataset(config["dataset"], config.get("data_root", data.DEFAULT_ROOT), config.get("image_size"),
                       config.get("val_fraction", 0.1), config.get("seed", 0))


@st.cache_resource(max_entries=8)
def _predictor(path: str, mtime: float) -> serving.Predictor:
    predictor = serving.Predictor(path)
    predictor.warm_up()  # once per checkpoint and server: the first drawing answers at once
    return predictor


def predictor(run_dir: Path, checkpoint: str) -> serving.Predictor:
    """A snapshot of the weights on disk (reloaded when the file changes), never the live model.

    A damaged checkpoint stops the page with its one-line error (the page does not crash).
    """
    path = runs.Run(Path(run_dir)).checkpoint(checkpoint)
    try:
        return _predictor(str(path), path.stat().st_mtime)
    except (CheckpointError, FileNotFoundError) as e:
        other = "last" if checkpoint == "best" else "best"
        st.error(f"{e}" if isinstance(e, CheckpointError)
                 else _("checkpoint {path} is missing").format(path=path))
        st.caption(_("The run's {other}.pt may still load: resume the run, or re-evaluate it with "
                     "`python -m resnet_core evaluate {run_dir} --checkpoint {other}`.").format(
            other=other, run_dir=run_dir))
        st.stop()


_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    """Anything a user typed or named (class folders, run names, paths, error messages that
    quote them), made safe to show inside Streamlit's Markdown: each Markdown character is
    escaped, so a folder named like a link or an image shows as its name, never as a live
    link or a remote image."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text)).replace("\n", " ")


def unlinked(text: object) -> str:
    """An error message that may quote a name a user chose, with every way Markdown makes a
    link or an image disarmed (``](``, ``![``, ``<...>`` and bare ``scheme://`` autolinks),
    and the rest of the message (``>=``, ``(0, 10]``, ``batch_size``) left as it reads."""
    text = str(text).replace("\n", " ")
    for dangerous, safe in (("](", "]\\("), ("![", "!\\["), ("<", "\\<"), ("://", ":\\/\\/"), ("www.", "www\\.")):
        text = text.replace(dangerous, safe)
    return text


def state_label(state: str | None) -> str:
    """A run's state with its icon, in the reader's language."""
    return f"{STATE_ICONS.get(state or '', '')} {state_name(state)}"


def state_name(state: str | None) -> str:
    return _(STATE_NAMES.get(state or "unknown", state or "unknown"))


def table_columns(table: pd.DataFrame, **config) -> dict:
    """st.dataframe's column_config for a run table: each column headed in the reader's
    language (``config``: a column's own, e.g. its number format, labelled too)."""
    columns = {}
    for column in table.columns:
        label = _(COLUMN_NAMES[column]) if column in COLUMN_NAMES else column
        given = config.get(column)
        if given is not None:
            if given.get("label") is None:
                given["label"] = label
            columns[column] = given
        else:
            columns[column] = st.column_config.Column(label)
    return columns


def translated_states(table: pd.DataFrame) -> pd.DataFrame:
    """The table with its state column in the reader's words (for showing only)."""
    if "state" not in table.columns:
        return table
    return table.assign(state=[state_name(s) for s in table["state"]])


def pick_run(label: str, run_ids: list[str], key: str) -> str | None:
    """A run selector that remembers its choice in the URL (?run=...), so links can be shared."""
    if not run_ids:
        return None
    wanted = st.query_params.get("run")
    index = run_ids.index(wanted) if wanted in run_ids else 0
    run_id = st.selectbox(label, run_ids, index=index, key=key)
    st.query_params["run"] = run_id
    return run_id


def choose_run_with_checkpoint(key: str, checkpoint: str = "best"):
    """The run selector of the pages that need weights; stops the page when there are none."""
    who = session()
    candidates = [r.id for r in store().runs()
                  if r.has_checkpoint(checkpoint) and who.sees_run(r)]
    run_id = pick_run(_("Run"), candidates, key=key)
    if run_id is None:
        st.info(_("No run with a checkpoint yet. Train one first."))
        st.stop()
    return store().get(run_id)


def locked_lesson() -> str | None:
    """The lesson id of a locked link (``?lesson=ID&locked=1``), else None."""
    room = current_class()
    if room is not None and current_user().role == "student":  # the teacher's lock, kept on the server
        return room.state.locked_lesson
    lesson = st.query_params.get("lesson")
    locked = st.query_params.get("locked", "").lower() in ("1", "true", "yes")
    return lesson if locked and lesson in classroom.LESSONS else None


def data_dir() -> Path:
    """The one folder the UI reads datasets from (and unpacks uploads into)."""
    return bench().data.root


def inside_data_dir(path: str) -> Path:
    """``path`` resolved, if it is inside the data folder; a one-line error otherwise."""
    return bench().data.inside(path)


def unpack_upload(name: str, content: bytes) -> Path:
    """Unpack an uploaded .zip of an image folder once (same bytes, same folder); its root.
    The core refuses it for anyone but the teacher on a class server."""
    return session().upload_data(name, content)


@st.cache_data(max_entries=64, show_spinner=False)
def block_names(arch: str, channels: int, size: int) -> list[str]:
    """The blocks of an architecture, input to output (layer1.0, ...), for a block picker."""
    return analysis.block_shapes(arch, channels, size, "layer1.0")["blocks"]


def block_drawing(arch: str, channels: int, size: int, block: str, *, activation: str = "relu",
                  residual: bool = True, norm: str = "batch") -> str:
    """The DOT drawing of one block with this architecture's shapes (one model build), its labels
    in the reader's language."""
    return _block_drawing(arch, channels, size, block, activation, residual, norm, i18n.language())


@st.cache_data(max_entries=64, show_spinner=False)
def _block_drawing(arch, channels, size, block, activation, residual, norm, language: str) -> str:
    with i18n.speaking(language):  # cached per language: two sessions, two drawings
        return analysis.block_dot(arch, channels, size, block, activation=activation, residual=residual,
                                  norm=norm)


def chart(fig, description: str, table: pd.DataFrame | None = None, *, key: str,
          where=None, **kwargs):
    """A Plotly chart with its text alternative: the one line ``description`` under it (what a
    screen reader reads) and, where there are numbers behind it, a "Show as a table" toggle.
    ``where``: a column or container to draw in (default: the page). Returns what
    ``st.plotly_chart`` returns (its selection, with ``on_select``)."""
    where = where or st
    shown = where.plotly_chart(fig, key=key, **kwargs)
    where.caption(description)
    if table is not None and where.toggle(_("Show as a table"), key=f"{key}_as_table",
                                          help=_("the chart's numbers, for reading or copying")):
        where.dataframe(table.rename(columns=lambda c: _(TABLE_HEADERS[c]) if c in TABLE_HEADERS else c),
                        hide_index=True)
    return shown


def when(iso: str | None, *, relative: bool = True) -> str:
    """A stored UTC time as this browser's clock shows it ("14:05", its time zone from
    st.context), with "in 12 min" or "12 min ago" beside it unless ``relative`` is False; a
    raw timestamp read as noise."""
    import datetime as dt
    import zoneinfo

    if not iso:
        return "-"
    at = dt.datetime.fromisoformat(iso)
    try:
        zone = zoneinfo.ZoneInfo(st.context.timezone) if st.context.timezone else dt.timezone.utc
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = dt.timezone.utc
    local = at.astimezone(zone)
    left = (at - dt.datetime.now(dt.timezone.utc)).total_seconds()
    from_now = (_("in {duration}").format(duration=runs.duration(left)) if left >= 0
                else _("{duration} ago").format(duration=runs.duration(-left)))
    label = "UTC" if zone is dt.timezone.utc else local.tzname()
    return f"{local:%H:%M} {label}" + (f" ({from_now})" if relative else "")
