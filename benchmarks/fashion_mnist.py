"""Fashion-MNIST on this machine's CPU: the shipped recipes against Zalando's table, and our
training loop against a tutorial-style one on the same data.

    python benchmarks/fashion_mnist.py accuracy [--preset fashion-mnist-fast] [--seeds 0 1 2] [-- FLAGS]
    python benchmarks/fashion_mnist.py levers [--preset P] [--seed 0] [--levers erasing ema ...] [-- FLAGS]
    python benchmarks/fashion_mnist.py speed [--steps 150]

``accuracy`` runs the command a user types, ``python -m resnet_core train --preset P --seed S``,
in a fresh process per seed, and times it from start to the printed result (Python start-up,
imports, reading the .gz files, training, validation, checkpoints and the final test
evaluation all included). The data comes from Debian's dataset-fashion-mnist package
(/usr/share/datasets/fashion-mnist); validation is 10% of the training split, the test split
is only evaluated once, at the end, on best.pt. Reports each seed and the median.

``speed`` times, in one invocation, the tutorial-style loop (torchvision's FashionMNIST
dataset with ToTensor + Normalize per image, a DataLoader with shuffle, batch 64, fp32 NCHW,
``.item()`` every step; the model is the same) and ours (``train`` with the same recipe:
uint8 images resident in memory, crop/flip augmentation and normalisation per batch, bf16
autocast, channels_last, batch 256), each for ``--steps`` optimizer steps after a warm-up,
and reports images/s and the time per epoch (54,000 training images) each implies.

``levers`` runs the recipe as it is and then with each lever flipped (erasing, EMA, ...), one
seed, in one invocation, and reports each one's change in accuracy and its wall time as a
ratio of the recipe's. Flags after ``--`` go to every run (``-- --epochs 4``: a short budget).

Last measured (2026-11-29, 2-vCPU Xeon with AMX; RESULTS.md "Fashion-MNIST"): fast recipe,
seeds 0-2: median 0.9303 test accuracy in 250 s command to result; long recipe, seed 0:
0.9369 in 940 s; our loop against the tutorial-style loop on the same data: 2.2x.
Last measured (2026-12-07, 2-vCPU AMD EPYC without AVX-512, so fp32; RESULTS.md "Time to
accuracy"): fashion-mnist-94, seeds 0-2: median
0.9305 test accuracy in 515 s (94% not reached); levers at 4 epochs of the fast recipe,
seed 0: erasing -0.19 points at 1.08x the wall time, EMA +0.03 points at 1.08x.
Last measured (2026-12-07, 2-vCPU AMD EPYC with AVX512-BF16, so bf16; RESULTS.md "bf16 on a CPU
without AMX"): fast recipe, seeds 0-2: median 0.9299 in 289 s; fashion-mnist-94, seeds 0-2:
median 0.9300 in 398 s (94% not reached).
Last measured (2026-12-07, the same AVX512-BF16 machine; RESULTS.md "94% in 10 minutes"):
fashion-mnist-94 (16 epochs, flips, 1-px crops, flip TTA, 2% held out), seeds 0-2: 0.9422 /
0.9400 / 0.9410 in 493 / 511 / 525 s: **median 0.9410 in 511 s** (plain, without TTA: 0.9398 /
0.9391 / 0.9379).
"""

from __future__ import annotations

import argparse
import gzip
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYSTEM = Path("/usr/share/datasets/fashion-mnist")
EPOCH_IMAGES = 54_000


def accuracy(preset: str, seeds: list[int], extra: list[str] = ()) -> None:
    """Per seed: the test accuracy (with TTA where the recipe uses it, and the plain figure
    beside it), the wall time command to printed result, the epochs and the training images/s
    (the median of the run's train lines)."""
    import json

    rows = []
    with tempfile.TemporaryDirectory() as runs:
        for seed in seeds:
            cmd = [sys.executable, "-m", "resnet_core", "train", "--preset", preset,
                   "--seed", str(seed), "--runs-dir", runs, "--quiet", *extra]
            start = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            wall = time.perf_counter() - start
            acc = float(re.search(r"test accuracy ([0-9.]+)", out).group(1))
            run_dir = Path(out.strip().splitlines()[-1])
            summary = json.loads((run_dir / "eval" / "test" / "summary.json").read_text())
            lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
            speeds = [x["images_per_sec"] for x in lines if x["split"] == "train" and x.get("images_per_sec")]
            epochs = max(x["epoch"] for x in lines)
            rows.append((seed, acc, summary.get("plain_accuracy"), wall, epochs,
                         statistics.median(speeds)))
            print(f"seed {seed}: test accuracy {acc:.4f} in {wall:.0f} s ({' '.join(cmd[1:])})",
                  flush=True)
    print(f"\n{preset}{' ' + ' '.join(extra) if extra else ''}:")
    print("| seed | test accuracy | without TTA | wall, command to result | epochs | images/s |")
    print("|---|---|---|---|---|---|")
    for seed, acc, plain, wall, epochs, ips in rows:
        plain_text = f"{plain:.4f}" if plain is not None else "-"
        print(f"| {seed} | {acc:.4f} | {plain_text} | {wall:.0f} s | {epochs} | {ips:,.0f} |")
    accs, walls = [r[1] for r in rows], [r[3] for r in rows]
    print(f"| median | **{statistics.median(accs):.4f}** | | **{statistics.median(walls):.0f} s** | | |")


# Each lever turned the other way from the recipe, one at a time (issue 41): train flags.
LEVERS = {"erasing": ["--erasing", "0.25"], "ema": ["--ema", "0.999"], "compile": ["--compile"],
          "augment": ["--augment"], "no-augment": ["--no-augment", "--no-tta"],
          # flips without crops (and TTA, which they make pay); crops of the dataset's 2 px
          "flips": ["--augment", "--crop-padding", "0", "--tta"], "crops": ["--crop-padding", "2"],
          # the share of the training pool held out for validation: the usual tenth, or 2%
          "val-0.1": ["--val-fraction", "0.1"], "val-0.02": ["--val-fraction", "0.02"]}


def levers(preset: str, seed: int, names: list[str], extra: list[str]) -> None:
    """The recipe as it is, then with each lever in ``names`` flipped, in one invocation, one
    seed: accuracy and wall time as differences and ratios against the recipe. (TTA needs no
    run of its own: a run with it reports the plain figure beside.)"""
    from resnet_core.training.config import PRESETS

    rows = []
    for name in ["recipe", *names]:
        flags = [*extra, *LEVERS.get(name, [])]
        if name in ("augment", "no-augment") and PRESETS[preset].get("augment", True) == (name == "augment"):
            continue  # the recipe has it already
        acc, plain, wall = _one_run(preset, seed, flags)
        rows.append((name, acc, plain, wall))
        print(f"{name}: test accuracy {acc:.4f} in {wall:.0f} s", flush=True)
    _, base_acc, _, base_wall = rows[0]
    print(f"\n{preset}, seed {seed}{' ' + ' '.join(extra) if extra else ''}:")
    print("| lever | test accuracy | without TTA | change | wall | wall / recipe's |")
    print("|---|---|---|---|---|---|")
    for name, acc, plain, wall in rows:
        plain_text = f"{plain:.4f}" if plain is not None else "-"
        print(f"| {name} | {acc:.4f} | {plain_text} | {100 * (acc - base_acc):+.2f} points | "
              f"{wall:.0f} s | {wall / base_wall:.2f}x |")


def _one_run(preset: str, seed: int, flags: list[str]) -> tuple[float, float | None, float]:
    import json

    with tempfile.TemporaryDirectory() as runs:
        cmd = [sys.executable, "-m", "resnet_core", "train", "--preset", preset, "--seed", str(seed),
               "--runs-dir", runs, "--quiet", *flags]
        start = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        wall = time.perf_counter() - start
        run_dir = Path(out.strip().splitlines()[-1])
        summary = json.loads((run_dir / "eval" / "test" / "summary.json").read_text())
        return summary["accuracy"], summary.get("plain_accuracy"), wall


def tutorial_images_per_sec(preset: dict, steps: int) -> float:
    """The loop most tutorials show, on the same files and model (and the recipe's choice of
    augmentation: crops and flips as transforms per image, or none)."""
    import torch
    import torch.nn.functional as F
    from torchvision import datasets, transforms

    from resnet_core import build_model

    with tempfile.TemporaryDirectory() as root:
        raw = Path(root) / "FashionMNIST" / "raw"
        raw.mkdir(parents=True)
        for gz in SYSTEM.glob("*.gz"):  # torchvision reads the plain files of its own layout
            with gzip.open(gz) as src, open(raw / gz.stem, "wb") as dst:
                shutil.copyfileobj(src, dst)
        augment = ([transforms.RandomCrop(28, padding=2), transforms.RandomHorizontalFlip()]
                   if preset.get("augment", True) else [])
        tf = transforms.Compose([*augment, transforms.ToTensor(),
                                 transforms.Normalize((0.2860,), (0.3530,))])
        data = datasets.FashionMNIST(root, train=True, transform=tf)
        loader = torch.utils.data.DataLoader(data, batch_size=64, shuffle=True, num_workers=0)
        model = build_model(preset["arch"], 10, 1, input_size=28, width=preset.get("width"),
                            stem=preset.get("stem", "auto"))
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        seen, start = 0, None
        for i, (x, y) in enumerate(loader):
            if i == 10:  # warm-up done
                seen, start = 0, time.perf_counter()
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()
            seen += len(x)
            if i == 10 + steps:
                break
        return seen / (time.perf_counter() - start)


def ours_images_per_sec(preset: str, steps: int) -> float:
    """Our trainer with the recipe, its own images/s (train lines) after the first log interval."""
    from resnet_core import TrainConfig, train

    with tempfile.TemporaryDirectory() as runs:
        config = TrainConfig.from_preset(preset, max_steps=steps + 10, runs_dir=runs,
                                         probe_snapshots=0)
        run = train(config, progress=False)
        lines = run.metrics()
        trains = lines[lines["split"] == "train"].iloc[1:]
        images = (trains["images_per_sec"] * trains["elapsed_s"]).sum()
        return images / trains["elapsed_s"].sum()


def speed(preset: str, steps: int) -> None:
    from resnet_core.training.config import PRESETS

    arch = PRESETS[preset]["arch"]
    ours = ours_images_per_sec(preset, steps)
    tutorial = tutorial_images_per_sec(PRESETS[preset], steps)
    print("| loop | images/s | time per epoch (54,000 images) |\n|---|---|---|")
    for name, ips in ((f"tutorial-style (the same {arch}, fp32, NCHW, per-image transforms, "
                       "batch 64)", tutorial),
                      (f"ours ({preset})", ours)):
        print(f"| {name} | {ips:,.0f} | {EPOCH_IMAGES / ips:.0f} s |")
    print(f"\nours / tutorial: {ours / tutorial:.1f}x")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    a = sub.add_parser("accuracy")
    a.add_argument("--preset", default="fashion-mnist-fast")
    a.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    a.add_argument("flags", nargs="*", help="more train flags after --, e.g. -- --epochs 6 --erasing 0.25")
    lv = sub.add_parser("levers")
    lv.add_argument("--preset", default="fashion-mnist-fast")
    lv.add_argument("--seed", type=int, default=0)
    lv.add_argument("--levers", nargs="+", default=["erasing", "ema"], choices=tuple(LEVERS))
    lv.add_argument("flags", nargs="*", help="more train flags after --, e.g. -- --epochs 4")
    s = sub.add_parser("speed")
    s.add_argument("--preset", default="fashion-mnist-fast")
    s.add_argument("--steps", type=int, default=150)
    args = p.parse_args()
    if args.what == "accuracy":
        accuracy(args.preset, args.seeds, args.flags)
    elif args.what == "levers":
        levers(args.preset, args.seed, args.levers, args.flags)
    else:
        speed(args.preset, args.steps)


if __name__ == "__main__":
    main()
