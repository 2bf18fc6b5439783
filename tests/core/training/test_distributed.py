"""torchrun: two real CPU processes with gloo on a free port, as a user would launch them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from resnet_core import RunStore
from resnet_core.errors import ConfigError
from resnet_core.training.distributed import Distributed

from helpers import run_cli

TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    cmd = [*TORCHRUN, "--nnodes=1", f"--nproc_per_node={nproc}", "--rdzv-backend=c10d",
           f"--rdzv-endpoint=127.0.0.1:{free_port()}", "-m", "resnet_core", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)


def test_shards_of_each_global_batch_add_up_to_the_single_process_batch():
    order = torch.randperm(50, generator=torch.Generator().manual_seed(0))
    ranks = [Distributed(rank=r, world_size=2) for r in range(2)]
    shards = [d.shard(order, batch_size=8, steps=6).view(6, 4) for d in ranks]
    together = torch.cat(shards, dim=1)
    assert torch.equal(together.reshape(-1), order[:48])


def test_global_batch_must_split_evenly_over_the_ranks():
    with pytest.raises(ConfigError, match="divisible by the world size 3"):
        Distributed(rank=0, world_size=3).local_batch_size(128)


def test_two_gloo_processes_train_one_run_comparable_to_one_process(tmp_path):
    runs = tmp_path / "runs"
    args = ["train", "--dataset", "digits", "--epochs", "8", "--runs-dir", str(runs), "--quiet"]
    ddp = torchrun(*args)
    assert ddp.returncode == 0, ddp.stderr[-2000:]
    single = run_cli(*args[:-3], "--runs-dir", str(tmp_path / "single"), "--quiet")
    assert single.returncode == 0, single.stderr

    # One run folder, written by rank 0 only; rank 1 printed nothing.
    (run,) = RunStore(runs).runs()
    assert ddp.stdout.strip().splitlines()[-1] == str(run.dir)
    assert ddp.stdout.count("test accuracy") == 1
    assert run.status["state"] == "completed"
    assert run.config["world_size"] == 2 and run.config["batch_size_per_rank"] == 64
    lines = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    train_steps = [m["step"] for m in lines if m["split"] == "train"]
    assert train_steps == sorted(set(train_steps)), "no duplicated metric lines"
    assert len([m for m in lines if m["split"] == "val"]) == 8
    # Same global batches and schedule: accuracy comparable to one process.
    (one,) = RunStore(tmp_path / "single").runs()
    acc_ddp, acc_one = run.summary()["accuracy"], one.summary()["accuracy"]
    assert acc_ddp > 0.9 and abs(acc_ddp - acc_one) < 0.04, (acc_ddp, acc_one)


@pytest.mark.slow  # ~15 s: two more torchrun launches
def test_a_distributed_run_resumes_under_torchrun(tmp_path):
    runs = tmp_path / "runs"
    first = torchrun("train", "--dataset", "digits", "--max-steps", "25", "--runs-dir", str(runs),
                     "--quiet")
    assert first.returncode == 0, first.stderr[-2000:]
    run_dir = Path(first.stdout.strip().splitlines()[-1])
    again = torchrun("train", "--resume", str(run_dir), "--max-steps", "50", "--quiet")
    assert again.returncode == 0, again.stderr[-2000:]
    (run,) = RunStore(runs).runs()
    assert run.status["state"] == "completed" and run.status["step"] == 50
    steps = [m["step"] for m in run.metrics().to_dict("records") if m["split"] == "train"]
    assert steps == sorted(set(steps)) and steps[-1] == 50
