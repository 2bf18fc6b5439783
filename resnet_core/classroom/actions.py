"""Who changed what in a class, and when (issue 40): one JSON line per change in
``<runs>/.class/actions.jsonl``, appended by the front door after each change a teacher makes,
shown on the Teacher page. Append-only: a reset of the class keeps it."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from resnet_core.runs.jsonl import append_jsonl, read_jsonl


class ActionLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, who: str, role: str, action: str, detail: str = "") -> None:
        """Append one change: who (their name and role), the action, a short detail."""
        append_jsonl(self.path, {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                 "who": who, "role": role, "action": action, "detail": detail})

    def recent(self, last: int = 200) -> list[dict]:
        """The ``last`` changes recorded, newest first."""
        return read_jsonl(self.path)[-last:][::-1] if self.path.exists() else []
