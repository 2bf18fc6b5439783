"""Shared fixtures (what tests share that is not a fixture: helpers.py). Training fixtures
are session-scoped: one short real run serves many tests."""

from __future__ import annotations

import os

# Before torch loads (the imports below): OpenMP threads that wait by sleeping, not spinning.
# Two test workers on two cores, each with torch's two threads, spun 3.2x the CPU time of one process
# for the same tests; passive, two workers take 0.69x the wall time of one.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# And each pytest-xdist worker its share of the cores (the training children and CLI processes it
# starts inherit it): torch's default, a thread per core in every worker, ran four threads on two
# cores. The default suite took 532 s with it and 461 s with one thread per worker; two bf16
# trainings side by side with two threads each once ran 20x slower (benchmarks/RESULTS.md, "CI's
# wall time, ninth" and "twelfth"). A thread count set by the caller is kept.
# The cores as resnet_core.device.cpu_cores counts them, not imported: it loads torch first.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, cores // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))

import pytest  # noqa: E402

from resnet_core import TrainConfig, train  # noqa: E402
from resnet_core.classroom.classroom import Classroom  # noqa: E402
from resnet_core.data.folder import DataFolder  # noqa: E402
from resnet_core.workbench import Workbench  # noqa: E402

# No warm training child per JobManager in the tests (dozens of app tests would each start an
# interpreter that imports torch); the tests of the warm child turn it on explicitly.
os.environ.setdefault("RESNET_WORKBENCH_WARM_WORKER", "0")


# The slow step's longest tests, in seconds as two workers measured them (2026-12-06, a
# contended run of the slow step; benchmarks/RESULTS.md, "CI's wall time, sixth"): run first, so that no worker starts one of them while
# the other has nothing left (longest-first scheduling). A hint only: a stale figure costs time,
# never a result. Each key is the start of a test's node id.
LONGEST_FIRST = {
    "tests/browser/test_accessibility.py": 230,  # one group: its two tests and their fixture
    "tests/docs/test_notebooks.py::test_the_article_example_runs_at_the_students_budget": 157,
    "tests/core/classroom/test_lessons.py::test_the_transfer_lesson": 138,
    "tests/core/data/test_real_data.py": 130,  # one group: the trained run and its pages
    "tests/browser/test_replicas_app.py": 127,
    "tests/docs/test_readme.py": 108,
    "tests/core/analysis/test_explain.py": 95,
    "tests/browser/test_app.py::test_launch_from_train_page": 84,
    "tests/browser/test_languages_app.py": 77,
    "tests/browser/test_keyboard.py": 76,
    "tests/browser/test_lessons_app.py": 75,
    "tests/browser/test_app.py::test_two_browser_sessions": 60,
    "tests/browser/test_sweep_app.py": 58,
}


def _unit(item) -> str:
    """What one worker runs together: a file's xdist_group (its module fixtures made once), or
    the test alone."""
    group = item.get_closest_marker("xdist_group")
    return group.args[0] if group else item.nodeid


def pytest_collection_modifyitems(config, items):
    """Called after collection: the units with the longest test in LONGEST_FIRST first, each
    unit's tests together and in their order (pytest-xdist's loadgroup keeps that order when
    run without loadscope's reordering: .ci/run)."""
    weight: dict[str, float] = {}
    first: dict[str, int] = {}
    for i, item in enumerate(items):
        unit = _unit(item)
        first.setdefault(unit, i)
        weight[unit] = max(weight.get(unit, 0.0), max(
            (s for key, s in LONGEST_FIRST.items() if item.nodeid.startswith(key)), default=0.0))
    items.sort(key=lambda item: (-weight[_unit(item)], first[_unit(item)]))
    _keep_xdist_groups(config, items)


def _keep_xdist_groups(config, items) -> None:
    """Keep pytest-xdist's ``--dist loadgroup`` grouping. xdist 3.8 marks a grouped test by
    writing ``item._nodeid``, which pytest 9.2's structured node ids no longer read
    (pytest-xdist#1386, fix open as #1388): every group was split over both workers, and its
    module fixtures (a trained Fashion-MNIST run, the accessibility runs, a server) were made
    once per worker. Until a release has the fix, the group suffix is written here."""
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        if names and "@" not in item.nodeid.rsplit("]", 1)[-1]:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")


@pytest.fixture(autouse=True)
def no_language_chosen():
    """Each test starts in a context that chose no language: a page under AppTest or an
    in-process CLI call sets the language of the thread it runs in (issue 39)."""
    from resnet_core import i18n

    i18n.forget()
    yield
    i18n.forget()


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
