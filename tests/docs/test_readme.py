"""README's commands, run as a reader would copy them (issue 25: its examples once failed with
"No module named torch" because they assumed an activated virtual environment)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from helpers import ROOT

pytestmark = pytest.mark.slow  # four fresh interpreters and a training run: about a minute


def readme_commands() -> list[str]:
    """Every ``.venv/bin/python -m resnet_core ...`` line of README's bash blocks."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()
            if line.strip().startswith(".venv/bin/python -m resnet_core")]


def test_the_readmes_command_line_examples_run_as_written(tmp_path):
    commands = readme_commands()
    assert [c.split()[3] for c in commands] == ["train", "evaluate", "explain", "report", "runs", "export-runs",
                                                "datasets", "train", "train", "sweep", "sweep"]
    fashion = Path("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz").is_file()
    if not fashion and not os.environ.get("REQUIRE_FASHION_MNIST"):
        commands = [c for c in commands if "fashion-mnist" not in c]  # the real-data block
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")  # README's commands run beside its venv
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESNET_WORKBENCH_RUNS")}
    # A runs folder of the test's own: the sweep command takes the folder's lock, and the
    # checkout's runs/ may be another process's (an app a developer left running).
    env["RESNET_WORKBENCH_RUNS"] = str(tmp_path / "runs")
    run_dir = None
    for command in commands:
        if "fashion-mnist" in command:
            command += " --max-steps 20"  # a start (all 8 epochs: benchmarks/fashion_mnist.py)
        if "sweep --" in command:
            command += " --trials 2 --epochs 2 --arch resnet8"  # the whole: benchmarks/sweep.py
        if "<run-id>" in command:
            assert run_dir is not None, "README trains before it names a run"
            command = command.replace("runs/<run-id>", run_dir)
        result = subprocess.run(shlex.split(command), cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=240, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, (command, result.stderr[-2000:])
        if command.split()[3] == "train":
            run_dir = result.stdout.strip().splitlines()[-1]  # "prints the run folder last"
            assert (tmp_path / run_dir / "checkpoints" / "best.pt").is_file()
        if command.split()[3] == "report":  # the run trained above, in one file
            report = (tmp_path / "report.html").read_text(encoding="utf-8")
            assert run_dir.split("/")[-1] in report and "<h2>Confusion matrix (test)</h2>" in report
        if command.split()[3] == "datasets":
            assert "fashion-mnist  here:" in result.stdout
        if command.split()[3] == "runs":
            assert run_dir.split("/")[-1] in result.stdout  # `runs` lists the run
        if command.split()[3] == "export-runs":  # into SQLite in the runs folder, model registered
            assert "model version 1" in result.stdout and (tmp_path / "runs" / "mlflow.db").is_file()
        if command.split()[3:5] == ["sweep", "status"]:
            assert "completed  2 trials  best 0." in result.stdout
    assert (tmp_path / "gradcam.png").stat().st_size > 0
