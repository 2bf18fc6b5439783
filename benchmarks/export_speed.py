"""CPU inference: PyTorch eager, TorchScript and onnxruntime on the same exported run, one
invocation, alternating. Single-image latency (median) and batch-64 throughput.

    .venv/bin/python benchmarks/export_speed.py

Last measured (2026-11-27, 2 vCPUs; RESULTS.md "Exported models on the CPU"): resnet20 on
3x32x32, single-image latency eager 1.48 ms, TorchScript 1.11 ms, onnxruntime 0.22 ms;
batch-64 throughput 3,314 / 3,464 / 5,159 images/s.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import warnings
from pathlib import Path

import onnxruntime as ort
import torch

from resnet_core import TrainConfig, load_checkpoint, model_from_checkpoint, train
from resnet_core.serving.export import export_run


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    warnings.simplefilter("ignore")
    print(f"{torch.get_num_threads()} threads; latency: median of 200 single images; "
          "throughput: median of 20 batches of 64")
    print("| model | runtime | latency (ms) | batch-64 (images/s) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for dataset, epochs in (("digits", 2), ("shapes", 1)):
            run = train(TrainConfig(dataset=dataset, epochs=epochs, runs_dir=tmp), progress=False)
            model, _, info = model_from_checkpoint(load_checkpoint(run.dir / "checkpoints" / "best.pt"))
            export_run(run.dir, "onnx", Path(tmp) / f"{dataset}.onnx")
            export_run(run.dir, "torchscript", Path(tmp) / f"{dataset}.pt")
            scripted = torch.jit.load(str(Path(tmp) / f"{dataset}.pt")).eval()
            session = ort.InferenceSession(str(Path(tmp) / f"{dataset}.onnx"),
                                           providers=["CPUExecutionProvider"])
            shape = (info.channels, info.image_size, info.image_size)
            one, batch = torch.randn(1, *shape), torch.randn(64, *shape)
            runtimes = {
                "PyTorch eager": model,
                "TorchScript": scripted,
                "onnxruntime": lambda x, s=session: s.run(None, {"input": x.numpy()}),
            }
            with torch.inference_mode():
                for name, fn in runtimes.items():
                    latency = median_time(lambda f=fn, x=one: f(x), 200)
                    per_batch = median_time(lambda f=fn, x=batch: f(x), 20)
                    label = f"resnet20 {dataset} {shape[0]}x{shape[1]}x{shape[2]}"
                    print(f"| {label} | {name} | {latency * 1e3:.2f} | {64 / per_batch:,.0f} |")


if __name__ == "__main__":
    main()
