"""The pages' fixtures: a runs folder with a run in each state a page must draw."""

import json
import shutil

import pytest

from resnet_core.runs.imported import write_imported_run


@pytest.fixture(scope="module")
def mixed_runs(short_run, tmp_path_factory):
    """A completed run, a failed copy and an interrupted copy (a process that no longer exists)."""
    root = tmp_path_factory.mktemp("mixed")
    shutil.copytree(short_run.dir, root / short_run.id)
    for suffix, status in (("failed", {"state": "failed", "error": "loss became nan at step 3"}),
                           ("interrupted", {"state": "running", "pid": 2**22 + 11, "host": "elsewhere",
                                            "updated_at": "2020-01-01T00:00:00+00:00"})):
        d = root / f"{short_run.id}-{suffix}"
        shutil.copytree(short_run.dir, d)
        (d / "status.json").write_text(json.dumps(status))
    # A run imported from elsewhere: curves only (a loss and no accuracy), no checkpoints.
    write_imported_run(root, kind="tensorboard", source="/elsewhere/logs/a", name="a", key="a",
                       started=1.7e9, config={}, lines=[{"split": "train", "step": s, "loss": 2.0 / s}
                                                        for s in (1, 2, 3)])
    return root
