"""The CUDA path end to end, for a machine with a GPU: python benchmarks/gpu_smoke.py OUT_DIR

Trains digits/resnet20 with bf16 autocast (the default on CUDA) and with fp16 + grad scaler,
stops and resumes a run on the GPU, trains shapes/resnet18, and prints one JSON line per run
(test accuracy, images/s from metrics.jsonl, wall time). Figures go to benchmarks/RESULTS.md.

Last measured (2026-11-28, one H100 80GB HBM3; RESULTS.md "GPU"): digits resnet20 at
59,990 images/s with the CUDA graph; bf16, fp16 + grad scaler and a GPU resume all completed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from resnet_core import Callback, TrainConfig, resume, train


class StopAt(Callback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, state, logs):
        if state.step == self.step:
            state.should_stop = True


def images_per_sec(run) -> float:
    m = run.metrics()
    t = m[m.split == "train"]
    return float((t.images_per_sec * t.elapsed_s).sum() / t.elapsed_s.sum())


def report(name: str, run, wall: float) -> dict:
    row = {"name": name, "state": run.status["state"], "test_accuracy": run.summary().get("accuracy"),
           "images_per_sec": round(images_per_sec(run)), "wall_s": round(wall, 1),
           "device": run.config.get("device_name"), "amp": run.config.get("amp"),
           "step": run.config.get("training_step")}
    print(json.dumps(row), flush=True)
    return row


def main(out: Path) -> None:
    assert torch.cuda.is_available(), "no CUDA device"
    runs = str(out / "runs")
    rows = []
    for name, cfg in [
        ("digits resnet20 bf16", TrainConfig(device="cuda", runs_dir=runs)),
        ("digits resnet20 bf16, eager step", TrainConfig(device="cuda", cuda_graph=False,
                                                          runs_dir=runs)),
        ("digits resnet20 bf16, batch 512 lr 0.4", TrainConfig(device="cuda", batch_size=512,
                                                                lr=0.4, runs_dir=runs)),
        ("digits resnet20 fp16+scaler", TrainConfig(device="cuda", amp="fp16", runs_dir=runs)),
        ("digits resnet20 fp32", TrainConfig(device="cuda", amp="off", runs_dir=runs)),
        ("shapes resnet18 bf16", TrainConfig(dataset="shapes", arch="resnet18", epochs=5, lr=0.05,
                                             device="cuda", runs_dir=runs)),
    ]:
        start = time.perf_counter()
        rows.append(report(name, train(cfg, progress=False), time.perf_counter() - start))
    start = time.perf_counter()
    stopped = train(TrainConfig(device="cuda", runs_dir=runs), progress=False, callbacks=[StopAt(105)])
    assert stopped.status["state"] == "stopped"
    rows.append(report("digits resnet20 stop@105 + resume", resume(stopped.dir, progress=False),
                       time.perf_counter() - start))
    (out / "gpu_smoke.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
