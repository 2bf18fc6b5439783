"""Wall time for digits to reach 99% test accuracy with the preset we ship, over several seeds.

    python benchmarks/time_to_accuracy.py [--seeds 6] [--preset digits-99]

Each seed runs ``resnet_core.training(TrainConfig.from_preset(...))`` end to end, as the CLI's
``train --preset digits-99`` does: loading the data, training, validating every epoch,
checkpoints, and the test evaluation of best.pt. Wall time is that whole call. The default
recipe (``train --dataset digits``) runs alternately in the same invocation as the reference.
Like airbench, the target is on the mean test accuracy over seeds; the minimum is reported too.

Last measured (2026-11-27, 2 vCPUs; RESULTS.md "Time to 99% on digits"): the digits-99 preset,
mean test accuracy 0.9933 over 5 seeds (4 of 5 at 99% or more) in 13.9 s each.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from resnet_core import TrainConfig, train
from resnet_core.training.config import PRESETS

TARGET = 0.99


def one(config: TrainConfig) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as runs:
        config.runs_dir = runs
        start = time.perf_counter()
        run = train(config, progress=False)
        return time.perf_counter() - start, run.summary()["accuracy"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=6)
    p.add_argument("--preset", default="digits-99", choices=tuple(PRESETS))
    args = p.parse_args()
    rows = {"preset": [], "default": []}
    for seed in range(args.seeds):
        rows["preset"].append(one(TrainConfig.from_preset(args.preset, seed=seed)))
        rows["default"].append(one(TrainConfig(dataset="digits", seed=seed)))
        print(f"seed {seed}: preset {rows['preset'][-1][1]:.4f} in {rows['preset'][-1][0]:.1f} s, "
              f"default {rows['default'][-1][1]:.4f} in {rows['default'][-1][0]:.1f} s", flush=True)
    print(f"\n{args.preset}: {PRESETS[args.preset]}")
    print("| recipe | mean test accuracy | min | seeds >= 99% | median wall | max wall |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        walls, accs = [w for w, _ in r], [a for _, a in r]
        print(f"| {name} | **{statistics.mean(accs):.4f}** | {min(accs):.4f} | "
              f"{sum(a >= TARGET for a in accs)}/{len(accs)} | {statistics.median(walls):.1f} s | "
              f"{max(walls):.1f} s |")


if __name__ == "__main__":
    main()
