"""The app's start-up on a bad setting: one line that says what is accepted, then exit 2, never
a traceback (issue 37, item 10: an unknown or unreachable executor was a start-up traceback)."""

from __future__ import annotations

import os
import subprocess
import sys

from helpers import ROOT


def test_an_unknown_executor_stops_the_app_with_one_line(tmp_path):
    env = {**os.environ, "RESNET_WORKBENCH_EXECUTOR": "kube", "RESNET_WORKBENCH_RUNS": str(tmp_path / "runs")}
    done = subprocess.run([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
                           "--server.headless", "true", "--server.port", "0"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    said = [line for line in done.stderr.splitlines() if "cannot start" in line]
    assert said == ["ResNet Workbench cannot start: executor must be one of local, ray, slurm; got 'kube'"]
