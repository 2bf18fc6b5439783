"""Shared fixtures (what tests share that is not a fixture: helpers.py). Training fixtures
are session-scoped: one short real run serves many tests."""

from __future__ import annotations

import os

# Before torch loads (the imports below): OpenMP threads that wait by sleeping, not spinning.
# Two test workers on two cores, each with torch's two threads, spun 3.2x the CPU time of one process
# for the same tests; passive, two workers take 0.69x the wall time of one.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402

from resnet_core import TrainConfig, train  # noqa: E402
from resnet_core.classroom.classroom import Classroom  # noqa: E402
from resnet_core.data.folder import DataFolder  # noqa: E402
from resnet_core.workbench import Workbench  # noqa: E402

# No warm training child per JobManager in the tests (dozens of app tests would each start an
# interpreter that imports torch); the tests of the warm child turn it on explicitly.
os.environ.setdefault("RESNET_WORKBENCH_WARM_WORKER", "0")


@pytest.fixture(scope="session")
def short_run(tmp_path_factory):
    """A real 3-epoch digits run (about 2 s on 2 CPU cores)."""
    runs = tmp_path_factory.mktemp("runs")
    return train(TrainConfig(dataset="digits", arch="resnet20", epochs=3, runs_dir=str(runs)),
                 progress=False)


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
