"""Load: 10 browser sessions poll Train and Runs for 40 s while a job trains (slow).

benchmarks/load_test.py measures the full minute and the images/s ratio; this test checks
what a person relies on under that load, in less of CI's time (no reference run)."""

from __future__ import annotations

import json
import sys

import pytest

from resnet_core.cli import EXIT_STOPPED
from resnet_core.runs import Run
from resnet_core.training.checkpoint import load_checkpoint

from helpers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.load]  # CI leaves load out (README)


# The cold loads and 40 s of load: past the suite's 300 s on a busy 2-core CI.
@pytest.mark.timeout(600)
def test_ten_sessions_under_load_during_training_see_no_error_and_the_same_state(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from load_test import run_load

    out = run_load(sessions=10, seconds=40, epochs=400, workdir=tmp_path, reference=False)
    print(json.dumps(out, default=str))
    assert out["errors"] == []
    # After its cold first load, every session kept loading pages through the 40 s (2 cores
    # shared by the server, the trainer and 10 browser tabs: a page takes seconds to render here).
    assert len(out["loads_per_session"]) == 10 and min(out["loads_per_session"]) >= 2
    assert out["job_ran_through_the_load"], "the job must train during the whole load"
    assert out["state_checks"] >= 10 and out["state_mismatches"] == []
    assert out["states_seen"] == ["running"]
    # Stopped with SIGTERM after the load: the CLI's "stopped" exit, and the run's files intact.
    assert out["trainer_returncode"] == EXIT_STOPPED and out["final_state"] == "stopped"
    run = Run(out["run_dir"])
    lines = [json.loads(x) for x in (run.dir / "metrics.jsonl").read_text().splitlines()]
    steps = [m["step"] for m in lines if m["split"] == "train"]
    assert steps == sorted(set(steps))
    last = load_checkpoint(run.checkpoint("last"))
    assert last["step"] == run.status["step"] >= steps[-1]
