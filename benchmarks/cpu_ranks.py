"""One process with every core's thread against one process per core (data-parallel ranks,
gloo), for the Fashion-MNIST recipes' training step on this CPU, in one invocation,
alternating, so both see the same machine. The same global batch either way.

    python benchmarks/cpu_ranks.py [--arch resnet14] [--width 32] [--batch 128] [--steps 40]

Last measured (2026-12-07, 2-vCPU AMD EPYC with AVX512-BF16, bf16; RESULTS.md "94% in 10
minutes"): ResNet-14 w32, strided stem: batch 128, one process x 2 threads 2,158 / 1,802 img/s
against 2 ranks x 1 thread 1,909 / 1,959 (0.98x); batch 256, 2,306 / 2,290 against 2,230 /
2,232 (0.97x). Ranks do not pay here, so the CPU recipes train in one process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from bf16_cpu import recipe_step, timed  # benchmarks/, beside this file

from resnet_core.device import cpu_cores, cpu_has_fast_bf16


def _steps(rank: int, world: int, args, bf16: bool, out) -> None:
    """Rank ``rank`` of ``world``: warm-up, then ``args.steps`` timed steps of its share."""
    torch.set_num_threads(max(1, cpu_cores() // world))
    wrap = torch.nn.parallel.DistributedDataParallel if world > 1 else None
    step = recipe_step(args.arch, args.width, args.batch // world, bf16, wrap)
    value = timed(step, args.steps, args.batch, dist.barrier if world > 1 else None)
    if rank == 0:  # the global batch's images: every rank stepped in lockstep
        out.put(value)


def _rank(rank: int, world: int, args, bf16: bool, init: str, out) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        _steps(rank, world, args, bf16, out)
    finally:
        dist.destroy_process_group()


def images_per_second(world: int, args, bf16: bool) -> float:
    """Global images/s with ``world`` processes (1: this process's own threads, all cores)."""
    ctx = mp.get_context("spawn")
    out = ctx.SimpleQueue()
    if world == 1:
        _steps(0, 1, args, bf16, out)
        return out.get()
    with tempfile.TemporaryDirectory() as tmp:
        init = f"file://{os.path.join(tmp, 'rendezvous')}"
        procs = [ctx.Process(target=_rank, args=(r, world, args, bf16, init, out)) for r in range(world)]
        for p in procs:
            p.start()
        value = out.get()
        for p in procs:
            p.join()
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet14")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    bf16 = cpu_has_fast_bf16()
    ranks = cpu_cores()
    figures: dict[int, list[float]] = {1: [], ranks: []}
    for _ in range(args.rounds):
        for world in figures:
            figures[world].append(images_per_second(world, args, bf16))
    for world, values in figures.items():
        what = f"1 process x {ranks} threads" if world == 1 else f"{world} ranks x 1 thread"
        print(f"{what}: " + " / ".join(f"{v:,.0f}" for v in values) + " img/s")
    ratio = statistics.median(figures[ranks]) / statistics.median(figures[1])
    print(f"{ranks} ranks / 1 process: {ratio:.2f}x  ({args.arch} w{args.width}, batch {args.batch}, "
          f"{'bf16' if bf16 else 'fp32'})")


if __name__ == "__main__":
    main()
