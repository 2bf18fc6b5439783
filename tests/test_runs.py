import json
import os
import socket
import subprocess
import sys

import pytest

from resnet_core import RunError, RunStore
from resnet_core.atomic import atomic_write_json
from resnet_core.runs import read_jsonl, write_status


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
