"""bf16 autocast against fp32 on this CPU: the training step of the Fashion-MNIST recipes' net,
in one invocation, alternating, so both see the same machine. It decides what the recipes'
``amp`` is where a CPU has no AMX (resnet_core.device.cpu_has_fast_bf16).

    python benchmarks/bf16_cpu.py [--arch resnet14] [--width 32] [--batch 128] [--steps 30]

Last measured (2026-12-07, 2-vCPU AMD EPYC with AVX512-BF16 and no AMX; RESULTS.md "bf16 on a
CPU without AMX"): ResNet-14 w32, batch 128, 28 px, channels_last: fp32 1,259 / 1,296 img/s,
bf16 1,849 / 1,868 img/s: 1.45x; again: fp32 1,250 / 1,288, bf16 2,178 / 2,086: 1.68x.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from resnet_core.device import cpu_has_fast_bf16
from resnet_core.training.models import build_model


def recipe_step(arch: str, width: int, batch: int, bf16: bool, wrap=None):
    """One training step (forward, loss, backward, SGD) of a fresh recipe net on a fixed batch;
    ``wrap`` wraps the model first (DistributedDataParallel, in cpu_ranks.py)."""
    torch.manual_seed(0)
    model = build_model(arch, num_classes=10, in_channels=1, width=width, stem="strided")
    model = model.to(memory_format=torch.channels_last)
    model = wrap(model) if wrap is not None else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    x = torch.randn(batch, 1, 28, 28).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def timed(step, steps: int, images: int, ready=None) -> float:
    """Images/s over ``steps`` calls of ``step`` (``images`` each) after five warm-up calls;
    ``ready`` runs between the two (cpu_ranks.py: a barrier, so the ranks start together)."""
    for _ in range(5):
        step()
    if ready is not None:
        ready()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * images / (time.perf_counter() - start)


def images_per_second(arch: str, width: int, batch: int, steps: int, bf16: bool) -> float:
    """One fresh net's training steps after five warm-up steps."""
    return timed(recipe_step(arch, width, batch, bf16), steps, batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet14")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    figures: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for _ in range(args.rounds):
        for mode in figures:
            figures[mode].append(images_per_second(args.arch, args.width, args.batch, args.steps,
                                                   mode == "bf16"))
    for mode, values in figures.items():
        print(f"{mode}: " + " / ".join(f"{v:,.0f}" for v in values) + " img/s")
    ratio = statistics.median(figures["bf16"]) / statistics.median(figures["fp32"])
    print(f"bf16 / fp32: {ratio:.2f}x  (threads {torch.get_num_threads()}; "
          f"cpu_has_fast_bf16: {cpu_has_fast_bf16()})")


if __name__ == "__main__":
    main()
