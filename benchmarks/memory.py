"""Peak training memory per arch and batch size, against the estimate the Train page shows.

    python benchmarks/memory.py [--device auto] [--size 32]

Each (arch, batch) is measured in a fresh child process, so one measurement's allocator
cache cannot hide the next one's: on CUDA ``torch.cuda.max_memory_allocated`` over three
training steps; on the CPU the growth of the process's peak resident set (ru_maxrss) over
the same steps, plus the weights allocated before it. The estimate is
``resnet_core.analysis.cost.estimate_memory`` (weights + gradients + optimizer state + the activations
autograd saves). The last column is the largest batch the estimate says fits in the memory
free now. Figures go to benchmarks/RESULTS.md.

Last measured (2026-11-27, 2 vCPUs; RESULTS.md "Memory"): estimate / measured peak 0.63-0.67
for resnet20, 0.78-0.99 from resnet56 up (resnet50 at batch 128: 3,384 against 3,425 MiB).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

import torch
import torch.nn.functional as F

ARCHS = ("resnet20", "resnet56", "resnet18", "resnet50")
BATCHES = (32, 128)


def measure_one(arch: str, batch: int, size: int, device: str) -> dict:
    """Runs in the child: three SGD steps, channels_last, fp32 (what the trainer does)."""
    from resnet_core import build_model

    dev = torch.device(device)
    model = build_model(arch, 10, 3, input_size=size).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, foreach=True)
    x = torch.randn(batch, 3, size, size, device=dev).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=dev)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    inputs = x.numel() * x.element_size()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    before_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    for _ in range(3):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - before + weights + inputs
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before_rss + weights + inputs
    return {"arch": arch, "batch": batch, "size": size, "device": device, "peak_bytes": peak}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--archs", default=",".join(ARCHS))
    p.add_argument("--batches", default=",".join(map(str, BATCHES)))
    p.add_argument("--one", nargs=2, metavar=("ARCH", "BATCH"), help=argparse.SUPPRESS)
    args = p.parse_args()
    from resnet_core.analysis.cost import available_memory, estimate_memory
    from resnet_core.device import resolve_device

    device = str(resolve_device(args.device))
    if args.one:
        print(json.dumps(measure_one(args.one[0], int(args.one[1]), args.size, device)))
        return
    free = available_memory(device)
    print(f"# device {device}, {free / 2**30:.1f} GiB free now, input 3x{args.size}x{args.size}, fp32")
    print("| arch | batch | measured peak | estimated | estimate / measured | largest batch (est.) |")
    print("|---|---|---|---|---|---|")
    for arch in args.archs.split(","):
        est = estimate_memory(arch, 10, 3, args.size)
        for batch in map(int, args.batches.split(",")):
            out = subprocess.run([sys.executable, __file__, "--device", device, "--size",
                                  str(args.size), "--one", arch, str(batch)],
                                 capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1])
            measured, estimated = row["peak_bytes"], est.peak(batch)
            print(f"| {arch} | {batch} | {measured / 2**20:,.0f} MiB | {estimated / 2**20:,.0f} MiB | "
                  f"{estimated / measured:.2f} | {est.largest_batch(free):,} |", flush=True)


if __name__ == "__main__":
    main()
