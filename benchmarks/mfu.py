"""Model FLOPs utilisation of our training step, per arch, against this machine's measured peak.

    python benchmarks/mfu.py [--device auto] [--size 32] [--batch 64] [--peak-dtype float32]

FLOPs per step: ``torch.utils.flop_counter.FlopCounterMode`` over one forward and backward
pass of the batch (a multiply-add counts 2). Steps per second: ``resnet_core.train`` on
random images of that size held on the device (channels_last, AMP on CUDA), timed over steps
after a warm-up. Peak: the best of several large square matmuls in the same invocation
(fp32 by default; on a GPU pass --peak-dtype bfloat16 to compare with the AMP step).
MFU = FLOPs per step x steps per second / peak. Figures go to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from resnet_core import Callback, TrainConfig, build_model, train
from resnet_core.config import resolve_device
from resnet_core.data import Dataset, DatasetInfo, Split

ARCHS = ("resnet20", "resnet56", "resnet18", "resnet50")


def matmul_peak(device: torch.device, dtype: torch.dtype) -> float:
    """Best FLOP/s of an n x n matmul (n = 2048 on the CPU, 8192 on a GPU)."""
    n = 8192 if device.type == "cuda" else 2048
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = 0.0
    for _ in range(5):
        a @ b  # warm-up / clocks
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        reps = 10 if device.type == "cuda" else 2
        for _ in range(reps):
            a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - start))
    return best


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


def steps_per_second(arch: str, batch: int, size: int, device: str, steps: int) -> float:
    warmup = 3
    data = synthetic(size, batch * (warmup + steps + 1))
    timer = Timer(warmup)
    with tempfile.TemporaryDirectory() as runs:
        train(TrainConfig(dataset="shapes", arch=arch, batch_size=batch, max_steps=warmup + steps,
                          device=device, runs_dir=runs, probe_snapshots=0, augment=False,
                          log_every=max(1, warmup + steps)),
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
    args = p.parse_args()
    device = resolve_device(args.device)
    steps = args.steps or (50 if device.type == "cuda" else 8)
    peak = matmul_peak(device, getattr(torch, args.peak_dtype))
    print(f"# device {device}, peak {args.peak_dtype} matmul {peak / 1e9:,.1f} GFLOP/s, "
          f"batch {args.batch}, 3x{args.size}x{args.size}, {torch.get_num_threads()} threads")
    print("| arch | GFLOP per step | steps/s | images/s | achieved GFLOP/s | MFU |")
    print("|---|---|---|---|---|---|")
    for arch in args.archs.split(","):
        flops = flops_per_step(arch, args.batch, args.size)
        sps = steps_per_second(arch, args.batch, args.size, str(device), steps)
        achieved = flops * sps
        print(f"| {arch} | {flops / 1e9:.2f} | {sps:.2f} | {sps * args.batch:,.0f} | "
              f"{achieved / 1e9:,.1f} | **{achieved / peak:.1%}** |", flush=True)


if __name__ == "__main__":
    main()
