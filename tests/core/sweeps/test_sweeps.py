"""Sweeps: search specs, trials as runs, pruning through STOP, kill -9 and resume, a read-only
second server, and the Sweep page's figures against Optuna's own (real Optuna, real runs)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys

import optuna
import pytest

from resnet_core import ConfigError, TrainConfig
from resnet_core.analysis.palette import GREY
from resnet_core.errors import RunError
from resnet_core.jobs.manager import JobManager
from resnet_core.runs.folder import PRUNED, Run
from resnet_core.sweeps.charts import epoch_curves, trial_runs
from resnet_core.sweeps.runner import Sweeps
from resnet_core.sweeps.space import SearchSpace, parse_param
from resnet_core.sweeps.study import SweepConfig, create_sweep, get_sweep
from resnet_core.workbench import sweep

from helpers import ROOT, wait_for

# A trial as small as a real one gets: ResNet-8 on digits, about a second an epoch here.
TINY = {"dataset": "digits", "arch": "resnet8", "probe_snapshots": 0}


@pytest.mark.parametrize("spec, message", [
    ("lr=log:0:1", "a log range needs 0 < LOW < HIGH, got 0 and 1"),
    ("lr=log:1:0.1", "a range needs LOW < HIGH"),
    ("colour=red,blue", "colour is not a training setting; searchable: "),
    ("dataset=digits,mnist", "dataset is fixed for a whole sweep"),
    ("arch=", "write NAME=log:LOW:HIGH"),
    ("arch=,", "the list of values is empty"),
    ("arch=resnet20,resnet999", "unknown arch 'resnet999'; choose one of: resnet8"),
    ("depth=20,21", "no ResNet of depth '21'; depths: 8, 14, 20"),
    ("batch_size=log:16:256", "batch_size takes int:LOW:HIGH"),
    ("lr=int:1:3", "lr takes log:LOW:HIGH or float:LOW:HIGH"),
    ("epochs=int:1:x", "the bounds must be integers"),
    ("augment=maybe", "augment takes true or false"),
    ("lr", "write NAME=log:LOW:HIGH"),
])
def test_bad_search_specs_get_one_line_errors_that_say_what_is_accepted(spec, message):
    with pytest.raises(ConfigError) as e:
        parse_param(spec)
    assert message in str(e.value) and "\n" not in str(e.value), str(e.value)
    assert str(e.value).startswith(f"--param {spec!r}")


def test_search_specs_parse_to_optuna_distributions_with_the_fields_types():
    space = SearchSpace.parse(["lr=log:1e-4:1", "depth=20,32", "batch_size=64,128",
                               "augment=true,false", "epochs=int:2:4", "label_smoothing=float:0:0.2"])
    assert space.names == ("lr", "arch", "batch_size", "augment", "epochs", "label_smoothing")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    values = space.suggest(study.ask())
    assert 1e-4 <= values["lr"] <= 1 and values["arch"] in ("resnet20", "resnet32")
    assert values["batch_size"] in (64, 128) and isinstance(values["augment"], bool)
    assert values["epochs"] in (2, 3, 4) and 0 <= values["label_smoothing"] <= 0.2
    assert [parse_param(s).spec() for s in space.specs()] == space.specs()
    with pytest.raises(ConfigError, match="given more than once"):
        SearchSpace.parse(["lr=log:1e-3:1", "lr=0.1,0.2"])
    with pytest.raises(ConfigError, match="grid search takes lists of values"):
        SweepConfig(base=TrainConfig(epochs=2), params=["lr=log:1e-3:1"], sampler="grid").validate()
    with pytest.raises(ConfigError, match="not --max-steps"):
        SweepConfig(base=TrainConfig(max_steps=20), params=["lr=0.1,0.2"]).validate()


def _runs_of(root, found):
    return trial_runs(found, [Run(p) for p in root.iterdir() if (p / "status.json").is_file()])


def test_pruning_stops_a_run_through_STOP_as_pruned_and_resume_continues_it(tmp_path):
    # Grid seed 1 tries lr 0.3 first, then 1e-6: the second is far below the first's
    # validation accuracy after epoch 1, under the median pruner.
    result = sweep(["lr=0.3,0.000001"], trials=2, pruner="median", sampler="grid", seed=1,
                   epochs=3, runs_dir=tmp_path, progress=False, **TINY)
    trials = result.sweep.study().get_trials()
    assert [t.params["lr"] for t in trials] == [0.3, 1e-6]
    assert [t.state.name for t in trials] == ["COMPLETE", "PRUNED"]
    pruned = _runs_of(tmp_path, result.sweep)[1]
    assert pruned.state == "pruned" and pruned.status["error"] == PRUNED
    assert pruned.status["epoch"] < 3 and pruned.has_checkpoint("last")
    jobs = JobManager(tmp_path)
    try:
        jobs.resume(pruned.id)
        assert jobs.wait(pruned.id, timeout=120)
    finally:
        jobs.close()
    assert pruned.state == "completed" and pruned.status["epoch"] == 3
    assert result.sweep.study().get_trials()[1].state.name == "PRUNED"  # the study keeps its verdict


def _cli_sweep(root, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "resnet_core", "sweep", "--runs-dir", str(root), "--quiet", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "RESNET_WORKBENCH_WARM_WORKER": "1"})


@pytest.mark.slow
def test_kill_9_mid_sweep_then_resume_loses_no_trial_and_runs_none_twice(tmp_path):
    args = ["--dataset", "digits", "--arch", "resnet8", "--epochs", "4", "--probe-snapshots", "0",
            "--param", "lr=log:1e-2:0.3", "--trials", "3", "--pruner", "none", "--sampler", "random"]
    proc = _cli_sweep(tmp_path, *args)

    def states() -> list[str]:
        try:
            return [r.state for r in _runs_of(tmp_path, get_sweep(tmp_path, "sweep")).values()]
        except RunError:  # the sweep's folder is not there yet
            return []

    wait_for(lambda: "completed" in states() and "running" in states(), timeout=180)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # The running trial's child sees its pipe close and stops with a checkpoint.
    wait_for(lambda: "running" not in states() and "queued" not in states(), timeout=60)
    found = get_sweep(tmp_path, "sweep")
    assert found.state == "running"  # nobody said it ended
    before = {n: r.id for n, r in _runs_of(tmp_path, found).items()}
    assert any((r.status.get("error") or "").startswith("the app stopped")
               for r in _runs_of(tmp_path, found).values())

    out, err = _cli_sweep(tmp_path, "resume", found.id).communicate(timeout=300)
    assert out.splitlines()[-2].startswith("best: trial"), err
    trials = found.study().get_trials()
    runs = _runs_of(tmp_path, found)
    assert [t.number for t in trials] == [0, 1, 2]
    assert all(t.state.name == "COMPLETE" for t in trials)
    assert len(runs) == 3 and all(r.state == "completed" for r in runs.values())
    assert {n: r.id for n, r in runs.items() if n in before} == before  # resumed, not redone
    run_dirs = [p for p in tmp_path.iterdir() if (p / "job.json").is_file()]
    assert len(run_dirs) == 3  # no trial ran twice
    configs = [r.config["lr"] for r in runs.values()]
    assert sorted(configs) == sorted(t.params["lr"] for t in trials)
    assert len(set(configs)) == 3  # no configuration twice: trial 2 was asked after the resume
    assert get_sweep(tmp_path, found.id).state == "completed"


@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_a_resumed_sweep_draws_new_configurations_not_the_first_ones_again(tmp_path, sampler):
    """Issue 38, item 1: a sweep resumed after three trials gave trials 3, 4 and 5 exactly the
    lr and arch of 0, 1 and 2 (its sampler started again from its seed). Three trials in one
    process, then three in another (the resumed one opens the study afresh)."""
    config = SweepConfig(base=TrainConfig(epochs=6, **TINY), trials=6, sampler=sampler,
                         params=["lr=log:1e-3:0.5", "arch=resnet20,resnet32"])
    found = create_sweep(tmp_path, config)

    def three(study) -> list[tuple]:
        drawn = []
        for _ in range(3):
            trial = study.ask()
            params = config.space().suggest(trial)
            study.tell(trial, 0.5)
            drawn.append((params["lr"], params["arch"]))
        return drawn

    before = three(found.study())
    after = three(get_sweep(tmp_path, found.id).study())  # as `sweep resume` opens it
    assert not set(before) & set(after), (before, after)


def _journal_digest(found) -> str:
    return hashlib.sha256(found.journal.read_bytes()).hexdigest()


def test_a_second_server_on_the_folder_reads_a_sweep_without_writing(tmp_path):
    config = SweepConfig(base=TrainConfig(epochs=2, **TINY), params=["lr=log:1e-3:1"], trials=3,
                         sampler="random")
    found = create_sweep(tmp_path, config)
    study = found.study()
    for value in (0.5, 0.7):
        trial = study.ask()
        trial.suggest_float("lr", 1e-3, 1, log=True)
        trial.report(value - 0.1, 1)
        study.tell(trial, value)
    first = JobManager(tmp_path)
    try:
        second = JobManager(tmp_path)
        assert second.read_only
        before = _journal_digest(found)
        watcher = Sweeps(second)  # does not carry the running sweep on: not its folder
        assert watcher.runner(found.id) is None
        for action in (lambda: watcher.stop(found), lambda: watcher.resume(found),
                       lambda: watcher.start(config)):
            with pytest.raises(RunError, match="read-only"):
                action()
        assert [t.value for t in get_sweep(tmp_path, found.id).study().get_trials()] == [0.5, 0.7]
        assert _journal_digest(found) == before
        second.close()
    finally:
        first.close()


def test_the_sweep_pages_figures_are_optunas_own_for_the_same_study(monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    config = SweepConfig(base=TrainConfig(epochs=3, **TINY), params=["lr=log:1e-3:1", "batch_size=32,64"],
                         trials=4, pruner="median", sampler="random")
    found = create_sweep(tmp_path, config)
    found.set_state("completed")
    study = found.study()
    for curve in ([0.4, 0.6, 0.7], [0.5, 0.8, 0.9], [0.1], [0.3, 0.5, 0.6]):
        trial = study.ask()
        config.space().suggest(trial)
        for epoch, value in enumerate(curve, 1):
            trial.report(value, epoch)
        study.tell(trial, max(curve) if len(curve) == 3 else None,
                   state=None if len(curve) == 3 else optuna.trial.TrialState.PRUNED)
    monkeypatch.setenv("RESNET_WORKBENCH_RUNS", str(tmp_path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "pages" / "navigation.py"), default_timeout=60)
    at.run()
    at.switch_page("sweep.py").run()
    assert not at.exception, at.exception
    charts = {json.loads(c.proto.spec)["layout"]["title"]["text"]: json.loads(c.proto.spec)
              for c in at.get("plotly_chart")}
    ours = charts["Parameters of every finished trial"]["data"]
    theirs = json.loads(optuna.visualization.plot_parallel_coordinate(study).to_json())["data"]
    assert ours == theirs
    curves = charts["Validation accuracy per epoch (pruned trials in grey)"]["data"]
    reference = json.loads(optuna.visualization.plot_intermediate_values(study).to_json())["data"]
    assert [(c["x"], c["y"]) for c in curves] == [(r["x"], r["y"]) for r in reference]
    assert [c["name"].endswith("(pruned)") for c in curves] == [False, False, True, False]
    assert "Best validation accuracy so far" in charts
    table = at.dataframe[0].value
    assert list(table["state"]) == ["completed", "completed", "pruned", "completed"]
    assert list(table["val accuracy"]) == [0.7, 0.9, 0.1, 0.6]
    assert epoch_curves(study.get_trials()).data[2].line.color == GREY
    # Issue 38, item 7: four finished trials (the pruned one has a value) are too few for importances (Optuna only warns on
    # the console, "Parameter importances will be equal"): the page says so and draws none.
    assert "Which parameters mattered" not in charts
    assert any("importances need 10 finished trials (4 so far)" in i.value for i in at.info), [i.value for i in at.info]


def test_a_small_asha_sweep_is_told_on_the_page_before_it_starts(monkeypatch, tmp_path):
    """Issue 38, item 7: with 4 trials ASHA's first trial always "wins"."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("RESNET_WORKBENCH_RUNS", str(tmp_path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "pages" / "navigation.py"), default_timeout=60)
    at.run()
    at.switch_page("sweep.py").run()
    at.number_input(key="sweep_trials").set_value(4).run()
    at.selectbox(key="sweep_pruner").set_value("asha").run()
    assert any("With 4 trials the ASHA pruner has too few" in i.value for i in at.info), [i.value for i in at.info]
    at.number_input(key="sweep_trials").set_value(16).run()
    assert not any("ASHA" in i.value for i in at.info)


def test_a_server_carries_a_sweep_on_and_its_trials_are_runs_that_report_every_epoch(tmp_path):
    from resnet_core.workbench import Workbench

    config = SweepConfig(base=TrainConfig(epochs=2, **TINY), params=["lr=0.05,0.1"], trials=2,
                         sampler="grid", pruner="none", name="grid")
    found = create_sweep(tmp_path, config)  # as a server that died before its first trial left it
    bench = Workbench(tmp_path)  # the next server on the folder
    try:
        wait_for(lambda: get_sweep(tmp_path, found.id).state == "completed", timeout=120)
    finally:
        bench.close()
    trials = found.study().get_trials()
    runs = _runs_of(tmp_path, found)
    assert sorted(runs) == [0, 1] and len({r.id for r in runs.values()}) == 2
    assert sorted(t.params["lr"] for t in trials) == [0.05, 0.1]
    for t in trials:
        run = runs[t.number]
        assert t.state.name == "COMPLETE" and run.state == "completed"
        assert t.user_attrs["run_id"] == run.id and run.config["lr"] == t.params["lr"]
        assert run.config["run_name"] == f"grid #{t.number}"
        val = [m["accuracy"] for m in map(json.loads, run.metrics_path.read_text().splitlines())
               if m.get("split") == "val"]
        assert t.intermediate_values == {1: val[0], 2: val[1]}  # every epoch, reported
        assert t.value == pytest.approx(run.status["best_val_accuracy"]) == pytest.approx(max(val))
    best = get_sweep(tmp_path, found.id).info["best"]
    assert best["value"] == max(t.value for t in trials)
    assert best["run_id"] == runs[best["trial"]].id


@pytest.mark.slow  # 10-20 s: CI runs it with the slow checks; the default run stays under 10 min
def test_the_cli_sweep_trains_no_more_at_once_than_the_apps_slots_and_says_so(tmp_path):
    """Issue 37, item 10: `sweep --parallel 3` started three training processes on a 2-core
    machine, without a word. The app's slots (RESNET_WORKBENCH_MAX_JOBS, 1 by default) bound
    them; the rest queue, and the CLI says so in one line."""
    done = subprocess.run(
        [sys.executable, "-m", "resnet_core", "sweep", "--runs-dir", str(tmp_path), "--dataset", "digits",
         "--arch", "resnet8", "--epochs", "1", "--probe-snapshots", "0", "--param", "lr=log:1e-2:0.3",
         "--trials", "3", "--parallel", "3", "--pruner", "none", "--sampler", "random"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, "RESNET_WORKBENCH_MAX_JOBS": "1"})
    assert done.returncode == 0, done.stderr
    assert "sweep: 3 trials queued at once, 1 training at a time (RESNET_WORKBENCH_MAX_JOBS=1" in done.stderr
    spans = sorted((r.status["started_at"], r.status["ended_at"]) for r in
                   _runs_of(tmp_path, get_sweep(tmp_path, "sweep")).values())
    assert len(spans) == 3
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # one at a time


def test_on_replicas_the_queues_owner_runs_a_sweep_started_elsewhere_and_its_successor_carries_it_on(tmp_path):
    """Issue 40: a sweep started on a replica that does not own the queue is run by the owner
    (picked up within a second); when the owner goes, the replica that takes the queue over
    carries the sweep on to its end, every trial told once."""
    owner = JobManager(tmp_path, replica=True, warm_worker=False)
    standby = JobManager(tmp_path, replica=True, warm_worker=False)
    assert owner.owns_queue and not standby.owns_queue
    at_owner, at_standby = Sweeps(owner), Sweeps(standby)
    config = SweepConfig(base=TrainConfig(epochs=1, **TINY, runs_dir=str(tmp_path)),
                         params=["lr=log:1e-2:1e-1"], trials=2, sampler="random", pruner="none")
    try:
        found = at_standby.start(config)
        assert at_standby.runner(found.id) is None  # not here: on the queue's owner
        wait_for(lambda: at_owner.runner(found.id) is not None, timeout=10)
        wait_for(lambda: len(found.study().get_trials()) >= 1, timeout=60)
        at_owner.close()
        owner.close()  # the owner leaves mid-sweep: the standby takes the queue and the sweep
        wait_for(lambda: standby.owns_queue and at_standby.runner(found.id) is not None, timeout=15)
        wait_for(lambda: get_sweep(tmp_path, found.id).state == "completed", timeout=240)
        trials = found.study().get_trials()
        assert len(trials) == 2 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
        run_ids = [t.user_attrs["run_id"] for t in trials]
        assert len(set(run_ids)) == 2  # none asked twice
    finally:
        at_standby.close()
        standby.close()
