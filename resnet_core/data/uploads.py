"""Unpacking an uploaded .zip of an image folder, safely.

A zip is untrusted input. Before anything is written, every entry is checked: no absolute
path, no ``..`` component, no symbolic link, at most ``max_files`` entries. While writing,
the bytes actually decompressed are counted (the sizes in the zip's header can lie), and the
whole upload is refused past ``max_bytes`` or when one entry inflates more than
``max_ratio`` times (a decompression bomb). Everything is unpacked into a temporary folder
next to the target and renamed into place at the end, so a refused upload leaves nothing
behind, and nothing is ever written outside the target.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO

from resnet_core.data.folder import WEIGHTS, uploads_dir
from resnet_core.errors import DataError, first_line
from resnet_core.i18n import _
from resnet_core.settings import UPLOAD_QUOTA_GB, settings

MAX_FILES = 50_000
MAX_BYTES = 1 << 30  # 1 GiB unpacked
MAX_NAME = 100  # characters in one path component (file systems allow 255 bytes)
MAX_RATIO = 200  # images barely compress; 200x is a bomb, not a photo
CHUNK = 1 << 20


class ArchiveError(DataError):
    """An uploaded archive is unsafe or unreadable; nothing was written."""


def safe_name(name: str) -> str:
    """A folder name from an upload's file name: letters, digits, dot, dash, underscore."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name).stem).strip(".-") or "upload"
    return stem[:60]


def _check_member(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """The entry's relative path, None for entries to skip, or ArchiveError if unsafe."""
    name = info.filename.replace("\\", "/")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ArchiveError(_("the zip holds a symbolic link ({filename}); refused").format(
                               filename=info.filename))
    path = PurePosixPath(name)
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise ArchiveError(_("the zip holds an absolute path ({filename}); refused, nothing "
                             "written").format(filename=info.filename))
    if ".." in path.parts:
        raise ArchiveError(_("the zip holds a path that leaves its folder ({filename}); "
                             "refused, nothing written").format(filename=info.filename))
    if info.is_dir() or not path.parts or path.parts[0] == "__MACOSX":
        return None
    # Control characters out of every name (they become class names); long names refused
    # here, one line, rather than by the file system halfway through.
    parts = [re.sub(r"[\x00-\x1f\x7f]", "", part) for part in path.parts]
    if any(len(part) > MAX_NAME for part in parts):
        raise ArchiveError(_("the zip holds a name longer than {MAX_NAME} characters "
                             "({value}...); refused, nothing written").format(
                               MAX_NAME=MAX_NAME, value=info.filename[:60]))
    return PurePosixPath(*parts)


def extract_image_folder(source: str | os.PathLike | IO[bytes], target: str | os.PathLike, *,
                         max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES,
                         max_ratio: int = MAX_RATIO) -> Path:
    """Unpack a zip of an ImageFolder tree into ``target`` (which must not exist yet).

    Returns the dataset root: ``target`` itself, or its single top-level folder when the zip
    wraps the class folders in one (as zipping a folder usually does).
    """
    target = Path(target)
    if target.exists():
        raise ArchiveError(_("{target} already exists; refusing to overwrite it").format(
                               target=target))
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as e:
        raise ArchiveError(_("not a readable .zip file ({e}); upload a .zip of an image folder").format(
                               e=e)) from e
    with archive:
        members = [(info, path) for info in archive.infolist()
                   if (path := _check_member(info)) is not None]
        if len(members) > max_files:
            raise ArchiveError(_("the zip holds {members} files; the limit is {max_files}").format(
                                   members=f"{len(members):,}", max_files=f"{max_files:,}"))
        _check_clashes([path for _, path in members])
        target.parent.mkdir(parents=True, exist_ok=True)
        _check_room(target.parent, sum(info.file_size for info, _ in members), max_bytes)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
        try:
            total = 0
            for info, path in members:
                out = staging.joinpath(*path.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                try:
                    with archive.open(info) as src, open(out, "wb") as dst:
                        while chunk := src.read(CHUNK):
                            written += len(chunk)
                            total += len(chunk)
                            if total > max_bytes:
                                raise ArchiveError(_("the zip unpacks to more than {value} MiB; "
                                                     "refused, nothing written").format(
                                                       value=f"{max_bytes / 2 ** 20:,.0f}"))
                            if written > max_ratio * max(info.compress_size, 1) and written > CHUNK:
                                raise ArchiveError(_("{filename} inflates more than "
                                                     "{max_ratio}x (a decompression bomb?); "
                                                     "refused, nothing written").format(
                                                       filename=info.filename, max_ratio=max_ratio))
                            dst.write(chunk)
                except (OSError, zipfile.BadZipFile, zlib.error, EOFError, ValueError) as e:
                    # A bad CRC, a truncated entry, a name the file system refuses, a disk
                    # that filled up: one line, and nothing left behind.
                    raise ArchiveError(_("could not unpack {filename} ({first_line}); refused, "
                                         "nothing written").format(
                                           filename=info.filename, first_line=first_line(e, 120))) from e
            try:
                os.replace(staging, target)
            except OSError:
                if not target.is_dir():
                    raise
                # The same zip, uploaded at the same moment, landed first: use that one.
                shutil.rmtree(staging, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return dataset_root(target)


def _check_clashes(paths: list[PurePosixPath]) -> None:
    """A file and a folder of the same name (``a`` and ``a/b.png``) cannot both be unpacked."""
    files = {p for p in paths}
    for path in paths:
        for parent in path.parents:
            if parent in files:
                raise ArchiveError(_("the zip holds both a file and a folder named {parent}; "
                                     "refused, nothing written").format(parent=parent))


def _check_room(folder: Path, declared: int, max_bytes: int) -> None:
    """The upload quota and the free disk, before anything is written."""
    need = min(declared, max_bytes)
    quota = settings().upload_quota_bytes
    used = upload_usage(folder)
    if used + need > quota:
        raise ArchiveError(_("uploads already take {value} MiB of the {value2} MiB allowed "
                             "({UPLOAD_QUOTA_GB}); remove old ones with: python -m resnet_core "
                             "uploads --remove-older-than DAYS").format(
                               value=f"{used / 2 ** 20:,.0f}", value2=f"{quota / 2 ** 20:,.0f}", UPLOAD_QUOTA_GB=UPLOAD_QUOTA_GB))
    free = shutil.disk_usage(folder).free
    if need * 2 > free:
        raise ArchiveError(_("only {value} MiB free on the disk for an upload of {value2} MiB; "
                             "free some space first").format(
                               value=f"{free / 2 ** 20:,.0f}", value2=f"{need / 2 ** 20:,.0f}"))


def upload_usage(folder: str | os.PathLike) -> int:
    """Bytes under an uploads folder."""
    total = 0
    for dirpath, _dirs, filenames in os.walk(folder):
        for name in filenames:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


def list_uploads(data_dir: str | os.PathLike) -> list[tuple[Path, int, float]]:
    """(path, bytes, age in days) of every upload, oldest first: each unpacked dataset folder
    and each weights file in ``uploads/weights/`` is one upload."""
    import time

    root = uploads_dir(data_dir)
    if not root.is_dir():
        return []
    uploads = []
    for entry in root.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.name == WEIGHTS and entry.is_dir():  # a folder of uploads, not one
            uploads += [f for f in entry.iterdir() if f.is_file() and not f.name.startswith(".")]
        elif entry.is_dir():
            uploads.append(entry)
    found = [(p, upload_usage(p) if p.is_dir() else p.stat().st_size,
              (time.time() - p.stat().st_mtime) / 86400) for p in uploads]
    return sorted(found, key=lambda item: -item[2])


def remove_uploads(data_dir: str | os.PathLike, older_than_days: float) -> list[Path]:
    """Delete the uploads older than ``older_than_days``; return what went."""
    gone = []
    for path, _size, age in list_uploads(data_dir):
        if age > older_than_days:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            gone.append(path)
    return gone


def dataset_root(folder: str | os.PathLike) -> Path:
    """``folder``, or its single top-level folder when that one holds the class folders
    (zipping a folder usually wraps its content in one)."""
    folder = Path(folder)
    entries = [e for e in folder.iterdir() if not e.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir():
        if any(e.is_dir() and not e.name.startswith(".") for e in entries[0].iterdir()):
            return entries[0]
    return folder


def upload_folder(data_dir: str | os.PathLike, name: str, data: bytes) -> Path:
    """Where an upload goes: ``<data_dir>/uploads/<name>-<hash>``; the same zip lands once."""
    digest = hashlib.sha256(data).hexdigest()[:10]
    return uploads_dir(data_dir) / f"{safe_name(name)}-{digest}"


def accept_upload(data_dir: str | os.PathLike, name: str, data: bytes) -> Path:
    """Unpack an uploaded .zip of an image folder into the data folder once (the same bytes
    give the same folder); its dataset root. Who may upload is the front door's to check
    (``workbench.Session.upload_data``: on a class server, the teacher)."""
    target = upload_folder(data_dir, name, data)
    if target.exists():  # the same bytes were unpacked before
        return dataset_root(target)
    import io

    return extract_image_folder(io.BytesIO(data), target)
