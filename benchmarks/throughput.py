"""Our trainer against a tutorial-style reference loop, alternately, in one invocation.

    python benchmarks/throughput.py [--rounds 2] [--device auto] [--cases digits,shapes,rgb18]

The reference loop is written the way most tutorials do it: a torch DataLoader over a
TensorDataset of already-normalised float images (shuffle, drop_last), ``.to(device)`` per
batch, ``.item()`` per step for the running loss and accuracy, the default (NCHW) layout, fp32.
Ours is ``resnet_core.training.loop`` as shipped: uint8 images resident on the device, crop/flip
augmentation and normalisation in batches there, channels_last, one host read per log
interval, AMP on CUDA. Same model builder, batch size, optimizer and data. The reference does
no augmentation at all, so the ratio is conservative for ours.

Images/s counts optimizer steps only: each side times from the start to the end of an epoch's
steps, first epoch skipped as warm-up; our validation, checkpoints and test evaluation fall
outside the timed spans (the reference has none). Prints one JSON line per measurement and a
summary table; figures go to benchmarks/RESULTS.md.

Last measured (2026-11-27, 2 vCPUs; RESULTS.md "Our trainer against a tutorial-style loop"):
ours / tutorial images/s: digits resnet20 1.19x, shapes resnet20 1.26-1.43x, resnet18 1.36x;
on an H100 (2026-11-28) 5.20x on digits.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from resnet_core import Callback, TrainConfig, build_model, load_dataset, train
from resnet_core.device import resolve_device

# case -> (dataset, arch, batch size, epochs timed after the warm-up epoch)
CASES = {
    "digits": ("digits", "resnet20", 128, 4),
    "shapes": ("shapes", "resnet20", 128, 1),
    "rgb18": ("shapes", "resnet18", 128, 1),  # 32x32 RGB with an ImageNet-style ResNet-18
}
MAX_TIMED_STEPS = {"rgb18": 6}  # ResNet-18 on 2 CPU cores: ~1 s a step; cap the timed span


class StepTimer(Callback):
    """Sums the time of each epoch's steps (not validation or checkpoints); skips epoch 1."""

    def __init__(self, batch_size: int, max_steps: int | None) -> None:
        self.batch_size, self.max_steps = batch_size, max_steps
        self.seconds, self.images, self.started = 0.0, 0, None

    def on_epoch_start(self, state):
        self.started = time.perf_counter() if state.epoch >= 1 else None
        self.steps = 0

    def on_step_end(self, state, logs):
        if self.started is None:
            return
        self.steps += 1
        # Close at the epoch's last step: on_epoch_end comes after validation and checkpoints.
        if self.steps == (self.max_steps or state.steps_per_epoch):
            self._close(state)

    def _close(self, state):
        if state.model is not None and next(state.model.parameters()).is_cuda:
            torch.cuda.synchronize()
        self.seconds += time.perf_counter() - self.started
        self.images += self.steps * self.batch_size
        self.started = None


def ours(dataset, arch: str, batch: int, epochs: int, max_steps: int | None, device: str,
         compile: bool = False, cuda_graph: bool = True) -> float:
    timer = StepTimer(batch, max_steps)
    steps_per_epoch = len(dataset.train) // batch
    budget = (1 + epochs) * steps_per_epoch if not max_steps else steps_per_epoch + max_steps + 1
    with tempfile.TemporaryDirectory() as runs:
        config = TrainConfig(dataset=dataset.info.name, arch=arch, batch_size=batch,
                             max_steps=budget, device=device, runs_dir=runs, probe_snapshots=0,
                             log_every=10, compile=compile, cuda_graph=cuda_graph)
        train(config, dataset=dataset, callbacks=[timer], progress=False)
    return timer.images / timer.seconds


def reference(dataset, arch: str, batch: int, epochs: int, max_steps: int | None, device: str) -> float:
    dev = resolve_device(device)
    info = dataset.info
    torch.manual_seed(0)
    model = build_model(arch, info.num_classes, info.channels, input_size=info.image_size).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = info.normalize(dataset.train.images)  # float, normalised once, on the host
    loader = DataLoader(TensorDataset(x, dataset.train.labels), batch_size=batch, shuffle=True,
                        drop_last=True)
    seconds, images = 0.0, 0
    model.train()
    for epoch in range(1 + epochs):
        started, steps = time.perf_counter(), 0
        running_loss, correct = 0.0, 0
        for xb, yb in loader:
            xb, yb = xb.to(dev), yb.to(dev)
            opt.zero_grad()
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            loss.backward()
            opt.step()
            running_loss += loss.item()
            correct += (out.argmax(1) == yb).sum().item()
            steps += 1
            if epoch >= 1 and max_steps and steps == max_steps:
                break
        if epoch >= 1:
            seconds += time.perf_counter() - started
            images += steps * batch
    return images / seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--compile", action="store_true",
                   help="also time ours with --compile (steady state: the warm-up epoch, which "
                        "includes compilation, is not timed)")
    p.add_argument("--eager-step", action="store_true",
                   help="also time ours with the step's kernels launched one by one "
                        "(--no-cuda-graph; on a GPU the default replays a CUDA graph)")
    args = p.parse_args()
    device = str(resolve_device(args.device))
    print(f"# device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    table = []
    for case in args.cases.split(","):
        name, arch, batch, epochs = CASES[case]
        dataset = load_dataset(name)
        cap = MAX_TIMED_STEPS.get(case)
        sides = [("ours", ours), ("reference", reference)]
        if args.compile:
            sides.append(("ours+compile", lambda *a: ours(*a, compile=True)))
        if args.eager_step:
            sides.append(("ours, eager step", lambda *a: ours(*a, cuda_graph=False)))
        figures = {name: [] for name, _ in sides}
        for r in range(args.rounds):
            for side, fn in (sides[::-1] if r % 2 else sides):
                ips = fn(dataset, arch, batch, epochs, cap, device)
                figures[side].append(ips)
                print(json.dumps({"case": case, "arch": arch, "side": side, "round": r,
                                  "images_per_sec": round(ips, 1)}), flush=True)
        ref = statistics.median(figures["reference"])
        for side in figures:
            if side != "reference":
                o = statistics.median(figures[side])
                table.append((f"{case} ({side})", name, arch, batch, o, ref, o / ref))
    print("\n| case | dataset | arch | batch | ours img/s | reference img/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for case, name, arch, batch, o, ref, ratio in table:
        print(f"| {case} | {name} | {arch} | {batch} | {o:,.0f} | {ref:,.0f} | **{ratio:.2f}x** |")


if __name__ == "__main__":
    main()
