"""The run folder's JSON and JSON-lines files: whole-line appends, readers that skip a torn
last line, truncation on resume, and MetricsTail (read only the lines added since last time).

Every read goes through ``read_regular``: with the Ray or Slurm executor every node writes the
runs folder, and one hostile file must not hang or fill the app. A FIFO as metrics.jsonl hung
the Runs page; a link to /dev/zero grew memory without bound. So a file is read only when it
is a regular file (not a link, a FIFO or a device) and no larger than a cap.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_core.atomic import atomic_write_text
from resnet_core.errors import RunError
from resnet_core.i18n import _

if TYPE_CHECKING:
    import pandas as pd


# The most a run-folder file is read to: JSON objects (config, status, job, summaries) are a
# few kB; metrics.jsonl of a long run with a line per logged step stays far under its cap.
MAX_JSON_BYTES = 8 * 2**20
MAX_JSONL_BYTES = 256 * 2**20


def read_regular(path: Path, cap: int) -> bytes:
    """The bytes of ``path``, a regular file of at most ``cap`` bytes; else a one-line
    RunError (a link, a FIFO, a device, too large). FileNotFoundError as ``open`` raises it."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait for one for ever.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise RunError(_("{path} is a symbolic link; run files are read only as regular "
                             "files").format(path=path)) from e
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RunError(_("{path} is not a regular file; run files are read only as regular "
                             "files").format(path=path))
        if info.st_size > cap:
            raise RunError(_("{path} is {value} MiB; run files are read up to {value2} MiB").format(
                               path=path, value=f"{info.st_size / 2 ** 20:,.0f}", value2=f"{cap / 2 ** 20:,.0f}"))
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(cap + 1)
    finally:
        os.close(fd)
    if len(data) > cap:  # grew while being read
        raise RunError(_("{path} is over {value} MiB; run files are read up to that").format(
                           path=path, value=f"{cap / 2 ** 20:,.0f}"))
    return data


def parse_json(text: str | bytes, where: object):
    """json.loads with its failures as one-line RunErrors (a nesting too deep included)."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(_("{where} is not valid JSON ({e})").format(where=where, e=e)) from e
    except RecursionError as e:
        raise RunError(_("{where} is nested too deeply to be a run file").format(where=where)) from e


# --------------------------------------------------------------------------- metrics

METRIC_COLUMNS = ["split", "epoch", "step", "loss", "accuracy"]


def read_json(path: Path) -> dict:
    """A run file's JSON ({} when it is not there); a one-line RunError when it cannot be one."""
    try:
        data = read_regular(Path(path), MAX_JSON_BYTES)
    except FileNotFoundError:
        return {}
    return parse_json(data, path)


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
        text = read_regular(Path(path), MAX_JSONL_BYTES).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            bad += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
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
                info = os.lstat(self.path)
            except FileNotFoundError:
                self._offset, self._records = 0, []
                return []
            size = info.st_size
            if not stat.S_ISREG(info.st_mode) or size > MAX_JSONL_BYTES:
                warnings.warn(f"{self.path} is not a regular file under "
                              f"{MAX_JSONL_BYTES / 2**20:,.0f} MiB; its curves are not shown", stacklevel=2)
                self._offset, self._records = 0, []
                return []
            if size < self._offset or info.st_ino != self._inode:
                self._offset, self._records, self._inode = 0, [], info.st_ino
            if size > self._offset:
                fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                with os.fdopen(fd, "rb") as f:
                    f.seek(self._offset)
                    chunk = f.read(size - self._offset)
                complete = chunk[: chunk.rfind(b"\n") + 1]
                self._offset += len(complete)
                for line in complete.decode("utf-8", errors="replace").splitlines():
                    try:
                        record = json.loads(line)
                    except (json.JSONDecodeError, RecursionError):
                        continue  # a torn line from a crash: skipped, as read_jsonl does
                    if isinstance(record, dict):
                        self._records.append(record)
            return list(self._records)

    def frame(self) -> pd.DataFrame:
        import pandas as pd  # imported when a table is built, not with the module
        records = self.read()
        return pd.DataFrame(records) if records else pd.DataFrame(columns=METRIC_COLUMNS)
