"""What the tests share that is not a fixture: the checkout's root, waiting for a condition,
running the CLI as a user would, the class's teacher, and one factory for the images, image
folders and zips the tests feed the workbench. (Browser helpers: ``e2e.py``.)"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from PIL import Image

from resnet_core import Callback
from resnet_core.classroom.access import ALL_CLASSES, User

ROOT = Path(__file__).resolve().parents[1]
TEACHER = User("teacher", "Teacher", "teacher", ALL_CLASSES)  # as Classroom.teacher_cookie signs them
TOKEN = "t0ken-for-the-tests-only"  # a class server's teacher token in the tests
# A text the pseudo-language marked (i18n.PSEUDO wraps each translated text in ⟦ ⟧), one level
# of nesting: what is left after removing these bypassed the catalog.
PSEUDO_MARKED = re.compile(r"⟦[^⟦⟧]*(?:⟦[^⟦⟧]*⟧[^⟦⟧]*)*⟧")


def wait_for(predicate, timeout: float = 120.0) -> None:
    """Poll ``predicate`` every 0.1 s until it is true; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


class StopAtStep(Callback):
    """Asks the trainer to stop after optimizer step ``step``."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, state, logs):
        if state.step == self.step:
            state.should_stop = True


def leave_ray_driver() -> None:
    """Called when a test process that became a Ray driver (a JobManager on the ray executor)
    is done with it: Ray is left here, with no thread of ours inside it, not in the
    interpreter's exit, where a late call into the gone core worker makes Ray end the process
    with code 1 (CI saw it once, after every test had passed). No-op without Ray."""
    import importlib.util

    if importlib.util.find_spec("ray") is not None:
        import ray

        if ray.is_initialized():
            ray.shutdown()


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None):
    """Run ``python -m resnet_core ARGS`` in a fresh interpreter, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "resnet_core", *args], capture_output=True,
                          text=True, cwd=cwd, env=full_env, timeout=300)


# -- images, image folders and zips ---------------------------------------------------------

CLASSES = {"cat": "red", "dog": "blue"}  # a two-class image folder: one colour per class


def image_bytes(colour="red", size: tuple[int, int] = (8, 8), fmt: str = "PNG",
                mode: str = "RGB") -> bytes:
    """One image file's bytes: a plain ``colour`` (a name, an RGB triple or a grey level)."""
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, fmt)
    return buffer.getvalue()


def image_folder(root: Path, classes: dict | None = None, *, per_class: int = 1,
                 size: tuple[int, int] = (8, 8), fmt: str = "PNG") -> Path:
    """An image folder as the workbench reads one: ``root/<class>/<i>.<ext>``; ``root``."""
    for cls, colour in (classes or CLASSES).items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (root / cls / f"{i}.{fmt.lower()}").write_bytes(image_bytes(colour, size, fmt))
    return root


def zip_bytes(entries: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    """A zip of ``entries`` (name -> bytes), and of ``symlinks`` (name -> target) stored as
    Unix symbolic links, as a hostile archive would carry them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            z.writestr(info, target)
    return buffer.getvalue()


def folder_zip(top: str = "pets", classes: dict | None = None, *, per_class: int = 1,
               size: tuple[int, int] = (8, 8)) -> bytes:
    """A zipped image folder ``top/<class>/<i>.png``, as a user uploads one."""
    return zip_bytes({f"{top}/{cls}/{i}.png": image_bytes(colour, size)
                      for cls, colour in (classes or CLASSES).items() for i in range(per_class)})
