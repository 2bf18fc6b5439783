"""Shared fixtures. Training fixtures are session-scoped: one short real run serves many tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from resnet_core import TrainConfig, train

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


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None):
    """Run ``python -m resnet_core ARGS`` in a fresh interpreter, as a user would."""
    import subprocess

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "resnet_core", *args], capture_output=True,
                          text=True, cwd=cwd, env=full_env, timeout=300)
