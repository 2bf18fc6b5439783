"""A run folder written by release 0.1.0 (tests/fixtures/runs_v0_1_0, committed as that
release wrote it: 2 epochs of digits/resnet20, one weight snapshot) still works end to end
with this version: listed, evaluated, explained, exported, predicted and resumed."""

import json
import shutil
from pathlib import Path

import pytest

from resnet_core import RunStore, evaluate_run, resume
from resnet_core.serving.export import export_run

from helpers import ROOT, run_cli

FIXTURE = ROOT / "tests" / "fixtures" / "runs_v0_1_0"


@pytest.fixture
def old_runs(tmp_path) -> Path:
    """A copy, so that evaluating or resuming never changes the committed files."""
    shutil.copytree(FIXTURE, tmp_path / "runs")
    return tmp_path / "runs"


def _run(root: Path):
    (run,) = RunStore(root).runs()
    return run


def test_old_run_is_listed_with_its_state_and_accuracy(old_runs):
    table = RunStore(old_runs).table()
    assert len(table) == 1
    row = table.iloc[0]
    assert row["state"] == "completed" and row["dataset"] == "digits" and row["arch"] == "resnet20"
    assert 0 <= row["test_accuracy"] <= 1
    cli = run_cli("runs", "--runs-dir", str(old_runs))
    assert cli.returncode == 0 and _run(old_runs).id in cli.stdout


def test_old_run_evaluates_to_its_recorded_accuracy(old_runs):
    run = _run(old_runs)
    recorded = json.loads((run.dir / "eval" / "test" / "summary.json").read_text())
    summary = evaluate_run(run.dir, split="test")
    assert summary["accuracy"] == pytest.approx(recorded["accuracy"], abs=1e-6)


def test_old_run_explains_exports_and_predicts(old_runs, tmp_path):
    run = _run(old_runs)
    png = tmp_path / "gradcam.png"
    cli = run_cli("explain", str(run.dir), "--method", "gradcam", "--index", "0", "--out", str(png))
    assert cli.returncode == 0, cli.stderr
    assert png.stat().st_size > 0
    meta = export_run(run.dir, "onnx", tmp_path / "model.onnx")
    assert meta["class_names"] == [str(i) for i in range(10)]
    assert len(run.snapshots()) == 1


def test_old_run_resumes_to_a_larger_budget(old_runs):
    run = _run(old_runs)
    finished = resume(run.dir, epochs=3, progress=False)
    assert finished.status["state"] == "completed"
    assert finished.status["epoch"] == 3
    assert finished.summary()["accuracy"] is not None
