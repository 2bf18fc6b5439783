"""Shared fixtures. Training fixtures are session-scoped: one short real run serves many tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from resnet_core import Callback, TrainConfig, train
from resnet_core.classroom.access import User
from resnet_core.classroom.classroom import Classroom
from resnet_core.data.folder import DataFolder
from resnet_core.workbench import Workbench

ROOT = Path(__file__).resolve().parents[1]

# No warm training child per JobManager in the tests (dozens of app tests would each start an
# interpreter that imports torch); the tests of the warm child turn it on explicitly.
os.environ.setdefault("RESNET_WORKBENCH_WARM_WORKER", "0")


@pytest.fixture(scope="session")
def short_run(tmp_path_factory):
    """A real 3-epoch digits run (about 2 s on 2 CPU cores)."""
    runs = tmp_path_factory.mktemp("runs")
    return train(TrainConfig(dataset="digits", arch="resnet20", epochs=3, runs_dir=str(runs)),
                 progress=False)


def wait_for(predicate, timeout: float = 120.0) -> None:
    """Poll ``predicate`` every 0.1 s until it is true; AssertionError after ``timeout`` s."""
    import time

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


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None):
    """Run ``python -m resnet_core ARGS`` in a fresh interpreter, as a user would."""
    import subprocess

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "resnet_core", *args], capture_output=True,
                          text=True, cwd=cwd, env=full_env, timeout=300)


TEACHER = User("teacher", "Teacher", "teacher")  # as Classroom.teacher_cookie signs them


@pytest.fixture
def room(tmp_path):
    """A class (roster, limits, challenge) in a fresh runs folder, teacher token "tok"."""
    return Classroom(tmp_path / "runs", teacher_token="tok")


@pytest.fixture
def bench(tmp_path, room):
    """A real class workbench whose jobs never start (0 per device): the front door and the
    queue are under test. Its data folder is tmp_path/data (not created)."""
    b = Workbench(tmp_path / "runs", classroom=room, max_jobs=0,
                  data=DataFolder((tmp_path / "data").resolve()))
    yield b
    b.jobs.shutdown()
