"""Several app processes on one runs folder (issue 40): what a replica reads off the folder.

Exactly one replica owns the queue: the one holding the folder's lock (an flock, released by
the kernel when its holder dies). The others hand runs to it through the folder: a run folder
whose status says queued, written by ``JobManager._create``, which the owner adopts within
``HANDOFF_S``; a stop is the run's STOP file. Every replica tries the lock every
``HANDOFF_S``: when the owner dies, the first to take it owns the queue, and the runs the dead
owner was training resume from their checkpoints. The pure parts are here; the manager's
threads use them.
"""

from __future__ import annotations

import re
from pathlib import Path

from resnet_core.runs.folder import ACTIVE_STATES, SERVER_GONE, Run, read_status
from resnet_core.runs.store import RunStore

HANDOFF_S = 1.0  # how often a replica looks at the folder: adopt, or try to take the queue over
# Touched by whoever hands a run (or a stop) to the queue's owner: a replica, or a CLI `train
# --executor` / `sweep` started beside a running server. An owner that is no replica (one
# `streamlit run`) adopts only when it changed: a stat a second, not a read of every run.
HANDOFF_FILE = ".handoff"
SETTLE_S = 30.0  # how long the dead owner's children get to checkpoint and leave


def owner_line(pid: int, host: str, since: str, instance: str) -> str:
    """What the folder's lock file says about its holder (read by the others)."""
    return f"pid {pid} on {host}, since {since} (server {instance})\n"


def instance_of(line: str | None) -> str | None:
    """The holder's manager instance, from its lock file's line (None for an older line)."""
    match = re.search(r"\(server ([0-9a-f]+)\)", line or "")
    return match.group(1) if match else None


def active_runs(store: RunStore) -> list[tuple[Run, dict, object]]:
    """The folder's queued and running runs, each with its status (read once) and its job.json:
    what counts against the class's limits when several processes admit runs (each reads the
    folder, not its memory), and what the queue's owner adopts."""
    found = []
    for run in store.runs():
        try:
            status = read_status(run.dir)
            if status.get("state") in ACTIVE_STATES:
                found.append((run, status, run.job))
        except Exception:  # a damaged run counts for nothing (RunStore warns when listing)
            continue
    return found


def left_by(store: RunStore, instance: str | None) -> list[Run]:
    """The runs a dead owner was training, once they settled: stopped because their server
    went (their stdin closed), or interrupted (their process is gone)."""
    if instance is None:
        return []
    runs = []
    for run in store.runs():
        status = run.status
        if status.get("server") != instance:
            continue
        if status.get("state") == "interrupted" or (
                status.get("state") == "stopped" and status.get("error") == SERVER_GONE):
            runs.append(run)
    return runs


def signal_handoff(root: Path) -> None:
    """Tell the queue's owner there is something in the folder for it (``HANDOFF_FILE``)."""
    (Path(root) / HANDOFF_FILE).touch()
