"""The CUDA-graph training step (resnet_core/cuda_graph.py). The equivalence tests need a GPU
and skip without one; CI has none, so they run on a lent GPU machine (benchmarks/RESULTS.md)."""

import pytest
import torch

from resnet_core import TrainConfig, resume, train
from resnet_core.training.cuda_graph import use_cuda_graph

from helpers import StopAtStep

gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_graph_is_used_only_where_a_plain_capture_is_valid():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    plain = {"distributed": False, "compiled": False, "grad_scaler": False}
    assert use_cuda_graph(True, cuda, **plain)
    assert not use_cuda_graph(False, cuda, **plain)
    assert not use_cuda_graph(True, cpu, **plain)
    assert not use_cuda_graph(True, cuda, **{**plain, "distributed": True})
    assert not use_cuda_graph(True, cuda, **{**plain, "compiled": True})
    assert not use_cuda_graph(True, cuda, **{**plain, "grad_scaler": True})


def test_cpu_runs_record_an_eager_step(tmp_path):
    run = train(TrainConfig(max_steps=3, device="cpu", probe_snapshots=0, runs_dir=str(tmp_path)),
                progress=False)
    assert run.config["training_step"] == "eager"


def _weights(run) -> dict:
    from resnet_core import load_checkpoint

    return load_checkpoint(run.dir / "checkpoints" / "last.pt")["model"]


@gpu
def test_graphed_step_trains_like_the_eager_step(tmp_path):
    """Same seed, same batches: the graph replays the same kernels as eager launches, so the
    weights after 40 steps agree to float32 rounding (fp32, deterministic cuDNN)."""
    common = dict(dataset="digits", arch="resnet20", max_steps=40, amp="off", deterministic=True,
                  device="cuda", probe_snapshots=0, runs_dir=str(tmp_path))
    graphed = train(TrainConfig(**common), progress=False)
    eager = train(TrainConfig(**common, cuda_graph=False), progress=False)
    assert graphed.config["training_step"] == "cuda-graph"
    assert eager.config["training_step"] == "eager"
    a, b = _weights(graphed), _weights(eager)
    for name in a:
        if a[name].is_floating_point():
            torch.testing.assert_close(a[name], b[name], rtol=1e-3, atol=1e-4, msg=name)
    assert graphed.summary()["accuracy"] == pytest.approx(eager.summary()["accuracy"], abs=0.02)


@gpu
def test_graphed_run_stops_and_resumes(tmp_path):
    config = TrainConfig(dataset="digits", arch="resnet20", epochs=4, device="cuda",
                         runs_dir=str(tmp_path))
    stopped = train(config, progress=False, callbacks=[StopAtStep(15)])
    assert stopped.status["state"] == "stopped"
    finished = resume(stopped.dir, progress=False)
    assert finished.status["state"] == "completed"
    assert finished.summary()["accuracy"] > 0.5
