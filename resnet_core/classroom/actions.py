"""Who changed what in a class, and when (issue 40): one JSON line per change in
``<runs>/.class/actions.jsonl``, appended by the front door after each change a teacher makes,
shown on the Teacher page. Append-only: a reset of the class keeps it. The actions are the
``ACTIONS`` below, written in English (a run-folder-like file) and shown in the reader's
language."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from resnet_core.i18n import N_
from resnet_core.runs.jsonl import append_jsonl, read_jsonl

# Every change the front door records (a test keeps workbench.Session's calls within it).
ACTIONS = (N_("change the limits"), N_("set the class code"), N_("lock the class to a lesson"),
           N_("set the class's language"), N_("import a class list"), N_("open a challenge"),
           N_("close the challenge"), N_("reset the class"), N_("remove a student"), N_("add a class"),
           N_("rename the class"), N_("invite a co-teacher"), N_("invite an assistant"), N_("revoke a link"))


class ActionLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, who: str, role: str, action: str, detail: str = "") -> None:
        """Append one change: who (their name and role), the action (one of ``ACTIONS``), a
        short detail."""
        if action not in ACTIONS:
            raise ValueError(f"not a recorded action: {action!r}")
        append_jsonl(self.path, {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                 "who": who, "role": role, "action": action, "detail": detail})

    def recent(self, last: int = 200) -> list[dict]:
        """The ``last`` changes recorded, newest first."""
        return read_jsonl(self.path)[-last:][::-1] if self.path.exists() else []
