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
from pathlib import Path, PurePosixPath
from typing import IO

from .errors import DataError

MAX_FILES = 50_000
MAX_BYTES = 1 << 30  # 1 GiB unpacked
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
        raise ArchiveError(f"the zip holds a symbolic link ({info.filename}); refused")
    path = PurePosixPath(name)
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise ArchiveError(f"the zip holds an absolute path ({info.filename}); refused, nothing written")
    if ".." in path.parts:
        raise ArchiveError(f"the zip holds a path that leaves its folder ({info.filename}); "
                           "refused, nothing written")
    if info.is_dir() or not path.parts or path.parts[0] == "__MACOSX":
        return None
    return path


def extract_image_folder(source: str | os.PathLike | IO[bytes], target: str | os.PathLike, *,
                         max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES,
                         max_ratio: int = MAX_RATIO) -> Path:
    """Unpack a zip of an ImageFolder tree into ``target`` (which must not exist yet).

    Returns the dataset root: ``target`` itself, or its single top-level folder when the zip
    wraps the class folders in one (as zipping a folder usually does).
    """
    target = Path(target)
    if target.exists():
        raise ArchiveError(f"{target} already exists; refusing to overwrite it")
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as e:
        raise ArchiveError(f"not a readable .zip file ({e}); upload a .zip of an image folder") from e
    with archive:
        members = [(info, path) for info in archive.infolist()
                   if (path := _check_member(info)) is not None]
        if len(members) > max_files:
            raise ArchiveError(f"the zip holds {len(members):,} files; the limit is {max_files:,}")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
        try:
            total = 0
            for info, path in members:
                out = staging.joinpath(*path.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                with archive.open(info) as src, open(out, "wb") as dst:
                    while chunk := src.read(CHUNK):
                        written += len(chunk)
                        total += len(chunk)
                        if total > max_bytes:
                            raise ArchiveError(f"the zip unpacks to more than {max_bytes / 2**20:,.0f} MiB; "
                                               "refused, nothing written")
                        if written > max_ratio * max(info.compress_size, 1) and written > CHUNK:
                            raise ArchiveError(f"{info.filename} inflates more than {max_ratio}x "
                                               "(a decompression bomb?); refused, nothing written")
                        dst.write(chunk)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return dataset_root(target)


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
    return Path(data_dir) / "uploads" / f"{safe_name(name)}-{digest}"
