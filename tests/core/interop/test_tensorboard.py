"""TensorBoard, live (issue 28): every run writes event files in its folder as it trains; the
scalars read back with TensorBoard's own EventAccumulator equal metrics.jsonl's, per step; the
hyperparameters sit in the same run as the scalars (not add_hparams' sub-run)."""

from __future__ import annotations

import math
import os

import pytest

from resnet_core import TrainConfig, resume, train
from resnet_core.training.tensorboard import SCALARS, TB_DIR

from helpers import StopAtStep


def read_events(run_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = sorted(p for p in (run_dir / TB_DIR).rglob("events.out.tfevents.*"))
    assert {p.parent for p in runs} == {run_dir / TB_DIR}, runs  # one run: no hparams sub-run
    acc = EventAccumulator(str(run_dir / TB_DIR), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def expected(run) -> dict[str, dict[int, float]]:
    """metrics.jsonl as TensorBoard tags: {"<split>/<name>": {step: value}}."""
    out: dict[str, dict[int, float]] = {}
    for line in run.metrics().to_dict("records"):
        for name in SCALARS:
            value = line.get(name)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                out.setdefault(f"{line['split']}/{name}", {})[int(line["step"])] = float(value)
    return out


def test_every_scalar_of_metrics_jsonl_reads_back_from_the_event_files(tmp_path):
    run = train(TrainConfig(dataset="digits", arch="resnet20", epochs=3, log_every=2, tensorboard=True,
                            runs_dir=str(tmp_path)), progress=False)
    acc = read_events(run.dir)
    want = expected(run)
    assert {"train/loss", "train/accuracy", "train/lr", "val/accuracy", "test/accuracy"} <= set(want)
    for tag, by_step in want.items():
        got = {e.step: e.value for e in acc.Scalars(tag)}
        assert got.keys() == by_step.keys(), tag
        for step, value in by_step.items():
            assert got[step] == pytest.approx(value, abs=1e-6, rel=1e-6), (tag, step)
    # The hyperparameters and the final test metrics, in the same run as the curves.
    plugin = acc.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(plugin)
    # The test confusion matrix, as an image.
    (image,) = acc.Images("test/confusion_matrix")
    assert image.step == run.status["step"] and image.width > 100 and image.height > 100
    test_accuracy = run.summary("test")["accuracy"]
    assert acc.Scalars("hparam/test_accuracy")[-1].value == pytest.approx(test_accuracy, abs=1e-6)
    # The model graph: its convolutions are there.
    graph = acc.Graph()
    assert sum("Conv2d" in node.name or "conv" in node.op.lower() for node in graph.node) >= 19


def test_a_resumed_run_continues_the_same_curves_without_duplicates(tmp_path):
    config = TrainConfig(dataset="digits", arch="resnet20", epochs=3, log_every=2, tensorboard=True,
                         runs_dir=str(tmp_path))
    stopped = train(config, progress=False, callbacks=[StopAtStep(15)])
    assert stopped.status["state"] == "stopped"
    run = resume(stopped.dir, progress=False)
    acc = read_events(run.dir)
    for tag, by_step in expected(run).items():
        steps = [e.step for e in acc.Scalars(tag)]
        assert steps == sorted(by_step), tag  # every step once, in order


def test_tensorboard_off_writes_no_event_files_and_on_trains_the_same_weights(tmp_path):
    import torch

    from resnet_core import load_checkpoint

    runs = {}
    for on in (False, True):
        runs[on] = train(TrainConfig(dataset="digits", arch="resnet20", epochs=1, seed=3, tensorboard=on,
                                     deterministic=True, runs_dir=str(tmp_path)), progress=False)
    assert not (runs[False].dir / TB_DIR).exists() and (runs[True].dir / TB_DIR).is_dir()
    # Tracing the graph (in eval mode) changed nothing: batch norm's statistics included.
    weights = [load_checkpoint(r.checkpoint("last"))["model"] for r in (runs[False], runs[True])]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


# An app in its own process: it starts the Runs page's TensorBoard, says its URL and its pid,
# and waits to be killed.
APP = """
import os, sys, time
from resnet_core.interop.tensorboard_server import TensorBoardServer
board = TensorBoardServer(sys.argv[1])
print(board.start(), board.process.pid, flush=True)
time.sleep(3600)
"""


def test_the_apps_tensorboard_answers_only_its_own_host_and_ends_with_the_app(tmp_path):
    """Issue 37, item 6: it answered ``Host: evil.example`` (a DNS-rebinding page read every
    run's curves), and after SIGKILL of the app it kept serving the runs folder."""
    import http.client
    import signal
    import subprocess
    import sys

    from helpers import ROOT, wait_for

    app = subprocess.Popen([sys.executable, "-c", APP, str(tmp_path)], stdout=subprocess.PIPE,
                           text=True, cwd=ROOT)
    try:
        url, pid = app.stdout.readline().split()
        port = int(url.rstrip("/").rsplit(":", 1)[1])

        def status(host: str) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/", headers={"Host": host})
            return conn.getresponse().status

        assert status(f"127.0.0.1:{port}") == 200 and status(f"localhost:{port}") == 200
        assert status("evil.example") == 403 and status(f"evil.example:{port}") == 403
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait(30)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
             open(f"/proc/{pid}/stat").read().split()[2] == "Z", 30)  # gone with the app


@pytest.mark.slow  # 7-14 s: the default run stays under 10 min on 2 cores; CI runs it
def test_a_board_started_from_the_runs_page_shows_runs_trained_without_event_files(short_run, tmp_path):
    """Issue 38, item 17: "Start TensorBoard here" opened an empty board for runs trained with
    TensorBoard off. Their event files are written from metrics.jsonl when it starts."""
    import json
    import shutil
    import urllib.request

    from resnet_core.interop.tensorboard_server import TensorBoardServer
    from resnet_core.training.tensorboard import TB_DIR

    runs = tmp_path / "runs"
    shutil.copytree(short_run.dir, runs / short_run.id)
    assert not (runs / short_run.id / TB_DIR).exists()
    board = TensorBoardServer(runs)
    try:
        url = board.start()
        with urllib.request.urlopen(url + "data/plugin/scalars/tags", timeout=30) as r:
            tags = json.loads(r.read())
    finally:
        board.stop()
    run_tags = tags[f"{short_run.id}/{TB_DIR}"]
    assert {"train/loss", "val/accuracy", "test/accuracy"} <= set(run_tags)
