"""job.json, typed (runs/jobfile.py, its one reader and writer): what the manager writes, the
child, the class and the sweeps read back; a wrong type is one line, never a KeyError later."""

from __future__ import annotations

import json

import pytest

from resnet_core.errors import RunError
from resnet_core.runs.folder import Run
from resnet_core.runs.jobfile import (
    LOCAL_OWNER,
    JobFile,
    Owner,
    SweepTrial,
    read_job,
    set_hold,
    write_new_job,
    write_resume_job,
)


def test_job_json_is_read_typed_and_a_wrong_type_is_one_line():
    job = JobFile.from_dict({"resume": True, "epochs": None, "max_steps": 9, "processes": 2,
                             "owner": {"id": "s-1", "name": "Ada"}, "sweep": {"id": "x", "trial": 3}})
    assert (job.owner, job.sweep, job.processes) == (Owner("s-1", "Ada"), SweepTrial("x", 3), 2)
    assert JobFile.from_dict(job.to_dict()) == job
    assert JobFile.from_dict({}).owner == LOCAL_OWNER
    for bad in ({"processes": "many"}, {"kind": "dance"}, {"owner": "Ada"}, {"epochs": 1.5},
                {"challenge": 7}, [1, 2]):
        with pytest.raises(RunError) as e:
            JobFile.from_dict(bad)
        assert "\n" not in str(e.value) and "job.json" in str(e.value)


def test_a_resumes_budget_replaces_the_runs_own():
    config = {"epochs": 3, "max_steps": None, "lr": 0.1}
    assert JobFile(epochs=5).budget(config) == {"epochs": 5, "max_steps": None, "lr": 0.1}
    assert JobFile(max_steps=7).budget(config) == {"epochs": None, "max_steps": 7, "lr": 0.1}
    assert JobFile().budget(config) == config


def test_written_and_read_back_through_the_run_folder(tmp_path):
    run = Run(tmp_path)
    assert read_job(run) == JobFile() and run.owner == LOCAL_OWNER  # the CLI's: no job.json
    ada = Owner("s-1", "Ada")
    write_new_job(run, processes=1, owner=ada, challenge="c-1", sweep=SweepTrial("s", 0))
    on_disk = json.loads(run.job_path.read_text())
    assert on_disk == {"resume": False, "processes": 1, "owner": {"id": "s-1", "name": "Ada"},
                       "challenge": "c-1", "sweep": {"id": "s", "trial": 0}}
    set_hold(run, Owner("teacher", "Teacher"))
    write_resume_job(run, epochs=None, max_steps=40, processes=1)
    job = run.job
    assert job.resume and job.max_steps == 40 and job.owner == ada and job.challenge == "c-1"
    assert job.held_by == Owner("teacher", "Teacher")
    set_hold(run, None)
    assert run.job.held_by is None and run.job.max_steps == 40
    run.job_path.write_text('{"processes": "many"}')
    assert run.job == JobFile()  # a damaged file reads as none where a page lists runs
    with pytest.raises(RunError):
        read_job(run)  # ... and as one line where it is acted on
