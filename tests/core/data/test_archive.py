"""Uploaded zips of image folders: unpacked safely or refused with nothing written."""

from __future__ import annotations

import io

import pytest

from resnet_core import load_dataset
from resnet_core.data.uploads import ArchiveError, extract_image_folder, upload_folder
from resnet_core.errors import DataError

from helpers import image_bytes, zip_bytes


def png_bytes(level: int = 128) -> bytes:
    return image_bytes((level, 0, 255 - level), (16, 16))


def make_zip(entries: dict[str, bytes], symlinks: dict[str, str] | None = None) -> io.BytesIO:
    """A zip as the upload handler gets it: a file-like object."""
    return io.BytesIO(zip_bytes(entries, symlinks))


def tree(prefix: str = "") -> dict[str, bytes]:
    return {f"{prefix}{cls}/{i}.png": png_bytes(40 * i) for cls in ("cat", "dog") for i in range(6)}


def test_a_zipped_image_folder_unpacks_and_loads(tmp_path):
    root = extract_image_folder(make_zip(tree("pets/")), tmp_path / "uploads" / "pets")
    assert root == tmp_path / "uploads" / "pets" / "pets"
    ds = load_dataset("folder", data_root=root, image_size=16)
    assert ds.info.class_names == ["cat", "dog"]
    assert len(ds.train) + len(ds.val) + len(ds.test) == 12


@pytest.mark.parametrize("evil", ["../evil.png", "cat/../../evil.png", "/tmp/evil_abs.png",
                                  "C:/evil.png", "..\\evil.png"])
def test_entries_leaving_the_target_are_refused_and_nothing_is_written(tmp_path, evil):
    target = tmp_path / "uploads" / "x"
    with pytest.raises(ArchiveError, match="refused"):
        extract_image_folder(make_zip({**tree(), evil: png_bytes()}), target)
    assert not target.exists()
    assert not (tmp_path / "evil.png").exists() and not (tmp_path / "uploads" / "evil.png").exists()
    uploads = tmp_path / "uploads"  # checked before anything is written: not even the folder
    assert not uploads.exists() or not any(uploads.iterdir())


def test_symbolic_links_are_refused(tmp_path):
    with pytest.raises(ArchiveError, match="symbolic link"):
        extract_image_folder(make_zip(tree(), symlinks={"cat/passwd.png": "/etc/passwd"}),
                             tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_a_zip_bomb_is_refused(tmp_path):
    bomb = make_zip({**tree(), "cat/huge.png": b"\0" * (64 << 20)})  # 64 MiB of zeros, ~64 KiB zipped
    with pytest.raises(ArchiveError, match="inflates more than 200x"):
        extract_image_folder(bomb, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_size_and_count_limits(tmp_path):
    with pytest.raises(ArchiveError, match="unpacks to more than"):
        extract_image_folder(make_zip(tree()), tmp_path / "a", max_bytes=100)
    with pytest.raises(ArchiveError, match="holds 12 files; the limit is 5"):
        extract_image_folder(make_zip(tree()), tmp_path / "b", max_files=5)


def test_not_a_zip_and_one_class_are_clear_errors(tmp_path):
    with pytest.raises(ArchiveError, match="not a readable .zip file"):
        extract_image_folder(io.BytesIO(b"PK\x03\x04 not really"), tmp_path / "x")
    one = extract_image_folder(make_zip({f"cat/{i}.png": png_bytes() for i in range(4)}), tmp_path / "one")
    with pytest.raises(DataError, match="needs at least 2 class folders; found 1 \\('cat'\\)"):
        load_dataset("folder", data_root=one, image_size=16)


def test_upload_folder_names_are_safe_and_stable(tmp_path):
    a = upload_folder(tmp_path, "../../My Photos!.zip", b"abc")
    assert a.parent == tmp_path / "uploads" and a.name.startswith("My-Photos-")
    assert a == upload_folder(tmp_path, "../../My Photos!.zip", b"abc")


def test_the_same_zip_uploaded_twice_at_once_gives_one_folder_and_no_error(tmp_path):
    import threading

    data = make_zip(tree()).getvalue()
    target = upload_folder(tmp_path, "pets.zip", data)
    barrier, results, errors = threading.Barrier(2), [], []

    def upload():
        barrier.wait()
        try:
            results.append(extract_image_folder(io.BytesIO(data), target))
        except Exception as e:  # noqa: BLE001 - the test reports it
            errors.append(e)

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) + len(errors) == 2
    assert all(isinstance(e, ArchiveError) and "already exists" in str(e) for e in errors)
    assert results and all(r == target for r in results)
    assert sorted(p.name for p in target.iterdir()) == ["cat", "dog"]
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no staging left


def _bad_crc_zip() -> io.BytesIO:
    buf = make_zip({"cat/0.png": png_bytes(), "dog/0.png": png_bytes(200)})
    raw = bytearray(buf.getvalue())
    data_at = raw.find(b"\x89PNG") if raw.find(b"\x89PNG") > 0 else None
    # Flip a byte inside the first entry's compressed data: its CRC no longer matches.
    header = raw.find(b"PK\x03\x04")
    name_len = int.from_bytes(raw[header + 26:header + 28], "little")
    extra_len = int.from_bytes(raw[header + 28:header + 30], "little")
    start = header + 30 + name_len + extra_len
    raw[start + 5] ^= 0xFF
    assert data_at is None or data_at != start
    return io.BytesIO(bytes(raw))


@pytest.mark.parametrize(("case", "message"), [
    ("bad crc", "could not unpack cat/0.png"),
    ("long name", "a name longer than 100 characters"),
    ("file and folder", "both a file and a folder named cat"),
])
def test_every_archive_failure_is_one_line_and_leaves_nothing(tmp_path, case, message):
    if case == "bad crc":
        source = _bad_crc_zip()
    elif case == "long name":
        source = make_zip({f"{'x' * 150}/0.png": png_bytes(), "dog/0.png": png_bytes()})
    else:
        source = make_zip({"cat": b"a file", "cat/0.png": png_bytes(), "dog/0.png": png_bytes()})
    with pytest.raises(ArchiveError, match=message) as err:
        extract_image_folder(source, tmp_path / "uploads" / "x")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "uploads" / "x").exists()
    if (tmp_path / "uploads").exists():
        assert not [p for p in (tmp_path / "uploads").iterdir() if p.name.startswith(".")]


def test_the_upload_quota_is_checked_before_anything_is_written(tmp_path, monkeypatch):
    size = sum(len(v) for v in tree().values())
    monkeypatch.setenv("RESNET_WORKBENCH_UPLOAD_QUOTA_GB", str(1.5 * size / 2**30))
    first = extract_image_folder(make_zip(tree()), tmp_path / "uploads" / "a")
    assert first.exists()
    with pytest.raises(ArchiveError, match="uploads already take .* remove old ones with"):
        extract_image_folder(make_zip(tree("x/")), tmp_path / "uploads" / "b")
    assert not (tmp_path / "uploads" / "b").exists()


def test_old_uploads_can_be_listed_and_removed_from_the_cli(tmp_path):
    import os
    import time

    from helpers import run_cli

    old = extract_image_folder(make_zip(tree()), tmp_path / "uploads" / "old")
    new = extract_image_folder(make_zip(tree("n/")), tmp_path / "uploads" / "new")
    week_ago = time.time() - 8 * 86400
    os.utime(tmp_path / "uploads" / "old", (week_ago, week_ago))
    listed = run_cli("uploads", "--data-dir", str(tmp_path))
    assert listed.returncode == 0 and "old" in listed.stdout and "new" in listed.stdout
    removed = run_cli("uploads", "--data-dir", str(tmp_path), "--remove-older-than", "7")
    assert removed.returncode == 0, removed.stderr
    assert f"removed {tmp_path / 'uploads' / 'old'}" in removed.stdout
    assert not old.exists() and new.exists()
