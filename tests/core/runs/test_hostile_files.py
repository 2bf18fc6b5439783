"""Issue 37, item 3: one malformed or hostile file in the runs folder (every node of a Ray or
Slurm cluster writes it, and students' runs sit in it) never stops the app's start-up or
breaks a page for everyone. Each case is a real file in a real runs folder; the interfaces
are the ones people use: the job manager's start-up (the app's), the CLI's ``runs``, and the
pages under Streamlit's AppTest, which default to the newest run."""

from __future__ import annotations

import json
import os
import shutil
import warnings

import pytest
from streamlit.testing.v1 import AppTest

from resnet_core.errors import RunError
from resnet_core.jobs.manager import JobManager
from resnet_core.runs.store import RunStore

from helpers import ROOT, run_cli

# The module fixtures below are made once: its tests run on one worker (.ci/run, loadgroup).
pytestmark = pytest.mark.xdist_group("test_hostile_files")

QUEUED = {"state": "queued", "queued_at": "2026-01-01T00:00:00+00:00", "pid": 1, "host": "gone"}


@pytest.fixture(scope="module")
def hostile(short_run, tmp_path_factory):
    """The good run, and one hostile twin per case, each named to sort newer than it."""
    root = tmp_path_factory.mktemp("hostile") / "runs"
    root.mkdir()
    good = root / short_run.id
    shutil.copytree(short_run.dir, good)

    def twin(case: str, **files) -> None:
        d = root / f"zz-{case}"
        shutil.copytree(short_run.dir, d)
        for name, content in files.items():
            (d / name.replace("__", ".")).write_text(content if isinstance(content, str) else json.dumps(content))

    twin("processes", status__json=QUEUED, job__json={"processes": "many"})
    twin("queued-at-number", status__json={**QUEUED, "queued_at": 5})
    twin("arch-number", config__json={**short_run.config, "arch": 5})
    twin("epoch-text", status__json={"state": "completed", "epoch": "x"})
    twin("status-list", status__json=[1, 2])
    twin("state-unknown", status__json={"state": "exploded"})
    twin("deep-json", config__json="[" * 100_000 + "]" * 100_000)
    twin("owner-number", job__json={"owner": 7})
    twin("fifo")
    os.remove(root / "zz-fifo" / "metrics.jsonl")
    os.mkfifo(root / "zz-fifo" / "metrics.jsonl")  # a reader that opens it waits for ever
    twin("dev-zero")
    os.remove(root / "zz-dev-zero" / "metrics.jsonl")
    os.symlink("/dev/zero", root / "zz-dev-zero" / "metrics.jsonl")  # endless bytes
    os.symlink(good, root / "zz-symlinked-folder")  # runs() listed it, path() refused it
    return root, short_run.id


def test_a_hostile_run_is_skipped_with_one_line_and_the_good_one_is_listed(hostile):
    root, good = hostile
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ids = [r.id for r in RunStore(root).runs()]
    assert ids == [good]
    skipped = sorted(str(w.message).split(":")[0] for w in caught if "skipped run" in str(w.message))
    assert skipped == sorted(f"skipped run zz-{c}" for c in (
        "processes", "queued-at-number", "arch-number", "epoch-text", "status-list",
        "state-unknown", "deep-json", "owner-number", "fifo", "dev-zero"))
    assert all("\n" not in str(w.message) for w in caught)
    for case, says in (("arch-number", "arch must be str"), ("epoch-text", "epoch must be int"),
                       ("fifo", "not a regular file"), ("deep-json", "nested too deeply")):
        with pytest.raises(RunError, match=says):
            RunStore(root).get(f"zz-{case}")
    with pytest.raises(RunError, match="is a symbolic link"):
        RunStore(root).get("zz-symlinked-folder")


def test_the_apps_job_manager_starts_on_the_folder(hostile):
    """Start-up once failed every time on a queued run's job.json with "processes": "many"
    or on queued_at of mixed types."""
    root, _ = hostile
    jobs = JobManager(root, max_running_per_device=0, warm_worker=False)
    try:
        assert jobs.read_only is None and jobs.jobs() == []
    finally:
        jobs.close()


def test_the_cli_lists_the_good_run(hostile):
    root, good = hostile
    done = run_cli("runs", "--runs-dir", str(root))
    assert done.returncode == 0, done.stderr
    assert good in done.stdout and "zz-" not in done.stdout


@pytest.mark.parametrize("page", ["home.py", "runs.py", "evaluate.py", "explain.py", "predict.py"])
def test_every_page_that_shows_runs_renders(hostile, page, monkeypatch):
    root, good = hostile
    monkeypatch.setenv("RESNET_WORKBENCH_RUNS", str(root))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "pages" / "navigation.py"), default_timeout=60)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
