"""Model FLOPs utilisation of our training step, per arch, against this machine's measured peak.

    python benchmarks/mfu.py [--device auto] [--size 32] [--batch 64] [--peak-dtype float32]

FLOPs per step: ``torch.utils.flop_counter.FlopCounterMode`` over one forward and backward
pass of the batch (a multiply-add counts 2). Steps per second: ``resnet_core.training.loop`` on
random images of that size held on the device (channels_last, AMP on CUDA), timed over steps
after a warm-up. Peak: the best of several large matrix multiplications in the same invocation (fp32 by
default; on a GPU pass --peak-dtype bfloat16 to compare with the AMP step). On the CPU torch
has two GEMM libraries and both are measured: ``torch.mm`` (MKL) and a 1x1 convolution in
channels_last, which is the same GEMM run by oneDNN, the library our convolutions use. On
this project's AMD EPYC, MKL's sgemm reached 215 GFLOP/s and oneDNN's 490 (MKL does not pick
its AVX-512 kernels on AMD CPUs), so the peak is the larger of the two.
MFU = FLOPs per step x steps per second / peak. Figures go to benchmarks/RESULTS.md.

Last measured (2026-11-27, 2 vCPUs; RESULTS.md "MFU"): of the CPU's measured matmul rate,
resnet20 62.3%, resnet56 73.4%, resnet18 95.9%, resnet50 69.5%.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from resnet_core import Callback, TrainConfig, build_model, train
from resnet_core.data.dataset import Dataset, DatasetInfo, Split
from resnet_core.device import resolve_device

ARCHS = ("resnet20", "resnet56", "resnet18", "resnet50")


def _best(fn, flops: float, device: torch.device, reps: int) -> float:
    best = 0.0
    for _ in range(5):
        fn()  # warm-up / clocks
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = max(best, flops * reps / (time.perf_counter() - start))
    return best


def matmul_peak(device: torch.device, dtype: torch.dtype) -> dict[str, float]:
    """Best FLOP/s of large GEMMs: torch.mm (n = 2048 CPU, 8192 GPU); on the CPU also a
    1x1 convolution (8192 x 1024 x 1024 GEMM) through oneDNN."""
    n = 8192 if device.type == "cuda" else 2048
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    reps = 10 if device.type == "cuda" else 2
    peaks = {"torch.mm": _best(lambda: a @ b, 2 * n**3, device, reps)}
    if device.type == "cpu":
        x = torch.randn(8, 1024, 32, 32, dtype=dtype).contiguous(memory_format=torch.channels_last)
        w = torch.randn(1024, 1024, 1, 1, dtype=dtype).contiguous(memory_format=torch.channels_last)
        peaks["oneDNN 1x1 conv"] = _best(lambda: F.conv2d(x, w), 2 * 8 * 32 * 32 * 1024 * 1024,
                                         device, reps)
    return peaks


def flops_per_step(arch: str, batch: int, size: int) -> float:
    """Counted on the meta device: shapes only, no arithmetic (cheap even for ResNet-50 at 224)."""
    with torch.device("meta"):
        model = build_model(arch, 10, 3, input_size=size)
        x = torch.randn(batch, 3, size, size)
        y = torch.randint(0, 10, (batch,))
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return float(counter.get_total_flops())


def synthetic(size: int, n: int) -> Dataset:
    """Random uint8 images in the trainer's own format (no files, no network)."""
    g = torch.Generator().manual_seed(0)
    info = DatasetInfo(name="shapes", class_names=[str(i) for i in range(10)], channels=3,
                       image_size=size, mean=[0.5] * 3, std=[0.25] * 3, hflip=False,
                       crop_padding=0)

    def split(k: int) -> Split:
        return Split(images=torch.randint(0, 256, (k, 3, size, size), dtype=torch.uint8, generator=g),
                     labels=torch.randint(0, 10, (k,), generator=g))

    return Dataset(info=info, train=split(n), val=split(16), test=split(16))


class Timer(Callback):
    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.end, self.steps = warmup, None, None, 0

    def on_step_end(self, state, logs):
        if state.model is not None and next(state.model.parameters()).is_cuda:
            torch.cuda.synchronize()
        if state.step == self.warmup:
            self.start = time.perf_counter()
        elif state.step > self.warmup:
            self.end, self.steps = time.perf_counter(), state.step - self.warmup


def steps_per_second(arch: str, batch: int, size: int, device: str, steps: int,
                     cuda_graph: bool = True) -> float:
    warmup = 5  # past the CUDA graph's capture (cuda_graph.WARMUP_STEPS eager steps, then capture)
    data = synthetic(size, batch * (warmup + steps + 1))
    timer = Timer(warmup)
    with tempfile.TemporaryDirectory() as runs:
        train(TrainConfig(dataset="shapes", arch=arch, batch_size=batch, max_steps=warmup + steps,
                          device=device, runs_dir=runs, probe_snapshots=0, augment=False,
                          log_every=max(1, warmup + steps), cuda_graph=cuda_graph),
              dataset=data, callbacks=[timer], progress=False)
    return timer.steps / (timer.end - timer.start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=None, help="timed steps (default: 8 CPU, 50 GPU)")
    p.add_argument("--archs", default=",".join(ARCHS))
    p.add_argument("--peak-dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    p.add_argument("--eager-step", action="store_true",
                   help="also measure each arch with --no-cuda-graph (kernels launched one by one)")
    args = p.parse_args()
    device = resolve_device(args.device)
    steps = args.steps or (50 if device.type == "cuda" else 8)
    peaks = matmul_peak(device, getattr(torch, args.peak_dtype))
    peak = max(peaks.values())
    measured = ", ".join(f"{k} {v / 1e9:,.1f}" for k, v in peaks.items())
    print(f"# device {device}, {args.peak_dtype} GEMM peak {peak / 1e9:,.1f} GFLOP/s ({measured}), "
          f"batch {args.batch}, 3x{args.size}x{args.size}, {torch.get_num_threads()} threads")
    print("| arch | GFLOP per step | steps/s | images/s | achieved GFLOP/s | MFU |")
    print("|---|---|---|---|---|---|")
    variants = [("", True)] + ([(", eager step", False)] if args.eager_step else [])
    for arch in args.archs.split(","):
        flops = flops_per_step(arch, args.batch, args.size)
        for label, graph in variants:
            sps = steps_per_second(arch, args.batch, args.size, str(device), steps, graph)
            achieved = flops * sps
            print(f"| {arch}{label} | {flops / 1e9:.2f} | {sps:.2f} | {sps * args.batch:,.0f} | "
                  f"{achieved / 1e9:,.1f} | **{achieved / peak:.1%}** |", flush=True)


if __name__ == "__main__":
    main()
