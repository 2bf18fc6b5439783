"""The frozen fast path on a CPU (issue 15), in one invocation:

    python benchmarks/transfer.py [--images 200] [--size 224] [--epochs 20]

A folder of ``--images`` photos-sized PNGs (4 classes, 256x256, written here), resnet18 from
ImageNet weights at 224 px, backbone frozen, no augmentation:

1. In process: the one feature pass over the training and validation images, then the head's
   training (first step to the last epoch's end: every step, validation and checkpoint) with
   the cached features, against the same run with ``feature_cache=False`` (each step through the
   whole frozen network, as before this issue). Target: the head trains in under 2 s.
2. The whole flow as a person runs it: ``python -m resnet_core train --dataset folder ...
   --pretrained imagenet --freeze backbone --no-augment``, command to printed run folder.
   Target: under 60 s.

torchvision's ImageNet file is read from the torch hub cache when it is there; otherwise (this
machine has no network) a seeded torchvision resnet18 state_dict is written under its name in a
temporary TORCH_HOME: the timing does not depend on the values.

Last measured (2026-11-28, 2 vCPUs; RESULTS.md "Starting from pretrained weights"): with cached
features the head trains in 0.91 s (58x the full network every step); command to result of
the whole flow 10.8 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def write_folder(root: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(n):
        c = i % 4
        a = rng.integers(0, 120, (256, 256, 3)).astype(np.uint8)
        a[40 + 30 * c: 140 + 30 * c, 60:200, c % 3] = 230
        (root / f"class{c}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(a).save(root / f"class{c}" / f"{i:04d}.png")


def ensure_weights(home: Path) -> str:
    from resnet_core.training.transfer import IMAGENET_FILES, imagenet_status

    if imagenet_status("resnet18").present:
        return "torchvision's file from the cache"
    import torch
    import torchvision

    os.environ["TORCH_HOME"] = str(home)
    path = home / "hub" / "checkpoints" / IMAGENET_FILES["resnet18"]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18().state_dict(), path)
    return "a seeded torchvision resnet18 state_dict under torchvision's file name"


class Clock:
    """Seconds from the first step to the last epoch's end (the head's training)."""

    def __init__(self) -> None:
        self.start = self.end = 0.0

    def on_train_start(self, state):
        self.start = time.perf_counter()

    def on_epoch_end(self, state, logs):
        self.end = time.perf_counter()

    def __getattr__(self, name):
        return lambda *a, **k: None


def in_process(folder: Path, runs: Path, size: int, epochs: int) -> None:
    from resnet_core import TrainConfig, train

    for cached in (True, False):
        config = TrainConfig(dataset="folder", data_root=str(folder), arch="resnet18",
                             pretrained="imagenet", freeze="backbone", augment=False,
                             image_size=size, epochs=epochs, batch_size=32,
                             feature_cache=cached, runs_dir=str(runs))
        clock = Clock()
        began = time.perf_counter()
        run = train(config, callbacks=[clock], progress=False)
        total = time.perf_counter() - began
        setup = clock.start - began
        head = clock.end - clock.start
        acc = run.summary("test")["accuracy"]
        name = "cached features" if cached else "full network every step"
        print(f"{name:24s} setup+feature pass {setup:6.2f} s, training {head:6.2f} s "
              f"({epochs} epochs), train() total {total:6.2f} s, test accuracy {acc:.3f}")


def whole_flow(folder: Path, runs: Path, size: int, epochs: int) -> None:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "resnet_core", "train", "--dataset", "folder",
                          "--data-root", str(folder), "--arch", "resnet18", "--pretrained",
                          "imagenet", "--freeze", "backbone", "--no-augment", "--image-size",
                          str(size), "--epochs", str(epochs), "--batch-size", "32", "--quiet",
                          "--runs-dir", str(runs)], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    print(f"CLI, command to run folder: {wall:.1f} s")
    print("   " + "\n   ".join(out.stdout.strip().splitlines()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=200)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--epochs", type=int, default=20)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_folder(tmp / "images", args.images)
        print(f"weights: {ensure_weights(tmp / 'torch_home')}; {args.images} images, "
              f"{args.size} px, {os.cpu_count()} CPUs")
        in_process(tmp / "images", tmp / "runs", args.size, args.epochs)
        whole_flow(tmp / "images", tmp / "runs", args.size, args.epochs)


if __name__ == "__main__":
    main()
