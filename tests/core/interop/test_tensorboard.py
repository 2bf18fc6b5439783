"""TensorBoard, live (issue 28): every run writes event files in its folder as it trains; the
scalars read back with TensorBoard's own EventAccumulator equal metrics.jsonl's, per step; the
hyperparameters sit in the same run as the scalars (not add_hparams' sub-run)."""

from __future__ import annotations

import math

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
