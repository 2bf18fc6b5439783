"""The run folder's JSON and JSON-lines files: whole-line appends, readers that skip a torn
last line, truncation on resume, and MetricsTail (read only the lines added since last time)."""

from __future__ import annotations

import json
import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_core.atomic import atomic_write_text
from resnet_core.errors import RunError

if TYPE_CHECKING:
    import pandas as pd


# --------------------------------------------------------------------------- metrics

METRIC_COLUMNS = ["split", "epoch", "step", "loss", "accuracy"]


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(f"{path} is not valid JSON ({e})") from e


def append_jsonl(path: Path, record: dict) -> None:
    """One os.write per line, so concurrent readers never see a line split across writes."""
    line = (json.dumps(record) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_jsonl(path: Path) -> list[dict]:
    """Every complete line; a torn or garbled line (a crash mid-write) is skipped with a warning."""
    records, bad = [], 0
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            bad += 1
    if bad:
        warnings.warn(f"{path}: skipped {bad} unreadable line(s) (torn by a crash?)", stacklevel=2)
    return records


def truncate_metrics(path: Path, step: int, epoch: int) -> None:
    """Keep only lines a checkpoint at (epoch, step) covers: resuming never duplicates a line."""
    write_jsonl(path, [r for r in read_jsonl(path)
                       if r.get("step", 0) <= step and r.get("split") != "test"
                       and not (r.get("split") != "train" and r.get("epoch", 0) > epoch)])


def truncate_after_step(path: Path, step: int) -> None:
    """Drop lines logged after ``step`` (a resumed run logs them again)."""
    if Path(path).exists():
        write_jsonl(path, [r for r in read_jsonl(path) if r.get("step", 0) <= step])


def write_jsonl(path: Path, records: list[dict]) -> None:
    """Replace the file with these lines, atomically."""
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in records))


class MetricsTail:
    """Reads only what was appended to metrics.jsonl since the last call (cheap page reruns).

    A partial last line is left for the next call; a file that was replaced (a resume
    rewrites it through a new file, which may be as long as the old one or longer) or that
    shrank is read again from the start. Thread-safe: one tail can serve many tabs.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._offset = 0
        self._inode: int | None = None
        self._records: list[dict] = []
        self._lock = threading.Lock()

    def read(self) -> list[dict]:
        with self._lock:
            try:
                info = self.path.stat()
            except FileNotFoundError:
                self._offset, self._records = 0, []
                return []
            size = info.st_size
            if size < self._offset or info.st_ino != self._inode:
                self._offset, self._records, self._inode = 0, [], info.st_ino
            if size > self._offset:
                with open(self.path, "rb") as f:
                    f.seek(self._offset)
                    chunk = f.read(size - self._offset)
                complete = chunk[: chunk.rfind(b"\n") + 1]
                self._offset += len(complete)
                for line in complete.decode("utf-8", errors="replace").splitlines():
                    try:
                        self._records.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue  # a torn line from a crash: skipped, as read_jsonl does
            return list(self._records)

    def frame(self) -> pd.DataFrame:
        import pandas as pd  # imported when a table is built, not with the module
        records = self.read()
        return pd.DataFrame(records) if records else pd.DataFrame(columns=METRIC_COLUMNS)
