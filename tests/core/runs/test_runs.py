import json
import os
import socket
import subprocess
import sys

import pytest

from resnet_core import RunError, RunStore
from resnet_core.atomic import atomic_write_json
from resnet_core.runs.folder import write_status
from resnet_core.runs.jsonl import read_jsonl


def _fake_run(root, run_id, **status):
    d = root / run_id
    (d / "checkpoints").mkdir(parents=True)
    atomic_write_json(d / "config.json", {"dataset": "digits", "arch": "resnet20"})
    write_status(d, **status)
    return d


@pytest.mark.parametrize("bad", ["../escape", "/etc", "a/b", "..", ".hidden", "", "x" * 200, "a\\b"])
def test_run_ids_cannot_leave_the_runs_folder(tmp_path, bad):
    with pytest.raises(RunError, match="invalid run id"):
        RunStore(tmp_path).path(bad)


def test_stale_running_run_is_interrupted_and_live_one_cannot_be_deleted(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    host = socket.gethostname()
    _fake_run(tmp_path, "a-dead", state="running", pid=int(dead), host=host)
    _fake_run(tmp_path, "b-live", state="running", pid=os.getpid(), host=host)
    _fake_run(tmp_path, "c-done", state="completed")
    store = RunStore(tmp_path)
    states = dict(zip(store.table().run_id, store.table().state, strict=True))
    assert states == {"a-dead": "interrupted", "b-live": "running", "c-done": "completed"}
    assert store.mark_interrupted() == ["a-dead"]
    assert json.loads((tmp_path / "a-dead" / "status.json").read_text())["state"] == "interrupted"
    with pytest.raises(RunError, match="is running; stop it before deleting"):
        store.delete("b-live")
    store.delete("c-done")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-dead", "b-live"]


def test_torn_last_metrics_line_is_skipped_with_a_warning(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"split": "train", "step": 1, "loss": 1.0}\n{"split": "val", "st')
    with pytest.warns(UserWarning, match="skipped 1 unreadable line"):
        records = read_jsonl(path)
    assert records == [{"split": "train", "step": 1, "loss": 1.0}]


def test_store_reads_a_real_run_as_pandas(short_run):
    store = RunStore(short_run.dir.parent)
    table = store.table()
    assert table.loc[0, "run_id"] == short_run.id and table.loc[0, "state"] == "completed"
    assert table.loc[0, "best_val_accuracy"] == short_run.status["best_val_accuracy"]
    run = store.get(short_run.id)
    metrics = run.metrics()
    assert {"split", "epoch", "step", "loss", "accuracy"} <= set(metrics.columns)
    assert run.per_class().shape == (10, 5)
    with pytest.raises(RunError, match="no run"):
        store.get("does-not-exist")


# ----------------------------------------------------------------------- the run's life


def test_transitions_follow_the_table_and_refuse_the_rest(tmp_path):
    from resnet_core.runs.folder import Run

    run = Run(tmp_path / "r")
    run.dir.mkdir()
    run.transition("queued")
    run.transition("running", pid=os.getpid(), host=socket.gethostname())
    with pytest.raises(RunError, match="is running and cannot become queued"):
        run.transition("queued")
    run.transition("stopped")
    with pytest.raises(RunError, match="is stopped and cannot become completed"):
        run.transition("completed")
    run.transition("queued")  # the way back: resume
    with pytest.raises(RunError, match="unknown run state 'paused'"):
        run.transition("paused")
    with pytest.raises(RunError, match="change a run's state with Run.transition"):
        run.record(state="completed")
    assert run.status["state"] == "queued"


def test_a_dead_running_run_can_be_resumed_or_marked_failed(tmp_path):
    from resnet_core.runs.folder import Run

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    d = _fake_run(tmp_path, "dead", state="running", pid=int(dead), host=socket.gethostname())
    assert Run(d).state == "interrupted"
    Run(d).transition("failed", error="killed")  # what the supervisor records
    d2 = _fake_run(tmp_path, "dead2", state="running", pid=int(dead), host=socket.gethostname())
    Run(d2).transition("queued")  # resumed from its last checkpoint


def test_run_paths_are_named_in_one_place(tmp_path):
    from resnet_core.runs.folder import Run

    run = Run(tmp_path / "r")
    assert run.checkpoint("best") == tmp_path / "r" / "checkpoints" / "best.pt"
    assert run.checkpoint_path("last") == run.checkpoint("last")
    assert run.snapshot(3) == tmp_path / "r" / "checkpoints" / "epochs" / "epoch_003.pt"
    assert run.eval_dir("val") == tmp_path / "r" / "eval" / "val"
    with pytest.raises(RunError, match="unknown checkpoint 'first'; choose best or last"):
        run.checkpoint("first")
    with pytest.raises(RunError, match="unknown split 'train'; choose test or val"):
        run.eval_dir("train")


def test_resumable_needs_an_ended_state_and_a_last_checkpoint(tmp_path):
    from resnet_core.runs.folder import Run

    d = _fake_run(tmp_path, "s", state="stopped")
    assert not Run(d).is_resumable  # no last.pt yet
    (d / "checkpoints" / "last.pt").write_bytes(b"x")
    assert Run(d).is_resumable
    write_status(d, state="completed")
    assert not Run(d).is_resumable


@pytest.mark.parametrize("damage", ["[1, 2]", '{"state": "running", "updated_at": "soon"}',
                                    "{not json", '"a string"'])
def test_one_damaged_status_leaves_the_other_runs_listed(tmp_path, damage):
    good = _fake_run(tmp_path, "a-good", state="completed")
    bad = _fake_run(tmp_path, "b-bad", state="completed")
    (bad / "status.json").write_text(damage)
    store = RunStore(tmp_path)
    with pytest.warns(UserWarning) if damage != '{"state": "running", "updated_at": "soon"}' \
            else _no_warning():
        table = store.table()
        store.mark_interrupted()
    assert "a-good" in set(table.run_id)
    from resnet_core.runs.folder import Run

    assert Run(good).status["state"] == "completed"
    if damage.startswith('{"state"'):  # readable, but no heartbeat to go by: not live
        assert dict(zip(table.run_id, table.state, strict=True))["b-bad"] == "interrupted"


def _no_warning():
    import contextlib

    return contextlib.nullcontext()


def test_the_live_tail_starts_over_when_a_resume_replaces_the_file(tmp_path):
    from resnet_core.atomic import atomic_write_text
    from resnet_core.runs.jsonl import MetricsTail

    path = tmp_path / "metrics.jsonl"
    lines = [json.dumps({"split": "train", "step": s, "loss": 1.0}) for s in range(1, 6)]
    path.write_text("\n".join(lines) + "\n")
    tail = MetricsTail(path)
    assert [r["step"] for r in tail.read()] == [1, 2, 3, 4, 5]
    # A resume from step 2 truncates (a new file), then logs new steps: longer than before.
    new = lines[:2] + [json.dumps({"split": "train", "step": s, "loss": 0.5}) for s in range(3, 9)]
    atomic_write_text(path, "\n".join(new) + "\n")
    records = tail.read()
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert records[4]["loss"] == 0.5  # the new step 5, not the stale one


def test_a_stop_request_carries_its_reason_to_the_stopped_runs_status(tmp_path):
    """The server's close writes why in the STOP file: the status says it whichever signal
    (the pipe's end or the file) the trainer sees first."""
    from resnet_core import Callback, TrainConfig, train
    from resnet_core.runs.folder import Run

    class AskToStop(Callback):
        def on_step_end(self, state, logs):
            if state.step == 3:
                Run(state.run_dir).request_stop("asked to stop, for the test")

    run = train(TrainConfig(epochs=2, probe_snapshots=0, runs_dir=str(tmp_path)),
                callbacks=[AskToStop()], progress=False)
    assert run.status["state"] == "stopped" and run.status["error"] == "asked to stop, for the test"
    assert run.take_stop_request() is None  # taken once
    run.stop_path.write_text("")  # a STOP file a user made by hand: a stop without a reason
    assert run.take_stop_request() == "" and not run.stop_path.exists()


def test_the_runs_table_tells_runs_of_one_architecture_apart(tmp_path):
    """Issue 25: three activations-lesson runs read as identical "digits resnet20" rows."""
    import json
    import shutil

    from resnet_core.runs.store import RunStore

    source = RunStore(tmp_path).root
    for name, activation in (("lesson:activations:relu", "relu"),
                             ("lesson:activations:sigmoid", "sigmoid")):
        d = source / f"20260101-000000-digits-resnet20-{activation}"
        d.mkdir(parents=True)
        (d / "config.json").write_text(json.dumps({"dataset": "digits", "arch": "resnet20",
                                                   "run_name": name, "activation": activation,
                                                   "norm": "batch", "residual": True}))
        (d / "status.json").write_text(json.dumps({"state": "completed"}))
    table = RunStore(tmp_path).table().set_index("activation")
    assert table.loc["sigmoid", "name"] == "lesson:activations:sigmoid"
    assert set(table["norm"]) == {"batch"}
    shutil.rmtree(source)


def test_only_the_settings_that_differ_and_a_missing_one_is_a_difference():
    """Issue 38, item 6 (what the toggle then showed): an imported run beside a native one
    compared as "empty", since a setting one run lacks was NaN and nunique skips NaN."""
    from resnet_core.runs import config_table

    native = {"arch": "resnet20", "lr": 0.1, "run_name": None}
    imported = {"lr": 0.1, "run_name": "theirs", "imported": "tensorboard"}
    table = config_table({"a": native, "b": imported}, only_differences=True)
    assert table.to_dict("index") == {"arch": {"a": "resnet20", "b": "-"},
                                      "imported": {"a": "-", "b": "tensorboard"},
                                      "run_name": {"a": "-", "b": "theirs"}}
    assert len(config_table({"a": native, "b": imported})) == 4  # every setting without the toggle
