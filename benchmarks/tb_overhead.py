"""TensorBoard event files on vs off: what they cost training (issue 28: at most 2%).

    python benchmarks/tb_overhead.py [--repeats 5] [--epochs 15] [--log-every 10]

Trains the same ResNet-20 digits run (same seed) with ``tensorboard`` off and on, interleaved,
``--repeats`` times each in this process, and compares two medians: the whole ``train()`` call
(setup, the one-off model graph, the steps, the test evaluation, the hparams and confusion
matrix) and the training speed while it steps (the median images/s of the run's metric lines).

Measured (2-core Intel Xeon VM, no GPU): see benchmarks/RESULTS.md, "TensorBoard".

Last measured (2026-12-05, the 2-vCPU Xeon VM; RESULTS.md "TensorBoard and MLflow"): event
files on against off: -0.8% images/s, +7.5% wall (the model graph traced once).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from resnet_core import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--log-every", type=int, default=10)
    args = parser.parse_args()
    times = {False: [], True: []}
    speed = {False: [], True: []}
    with tempfile.TemporaryDirectory() as runs:
        train(TrainConfig(dataset="digits", epochs=1, runs_dir=runs), progress=False)  # warm-up
        for _ in range(args.repeats):
            for on in (False, True):
                start = time.perf_counter()
                run = train(TrainConfig(dataset="digits", arch="resnet20", epochs=args.epochs, seed=0,
                                        log_every=args.log_every, tensorboard=on, runs_dir=runs),
                            progress=False)
                times[on].append(time.perf_counter() - start)
                m = run.metrics()
                rates = m[m["split"] == "train"]["images_per_sec"].iloc[1:]  # the first holds warm-up
                speed[on].append(float(rates.median()))
                print(f"tensorboard {'on ' if on else 'off'}: {times[on][-1]:.2f} s, "
                      f"{speed[on][-1]:.0f} images/s", flush=True)
    off, on = statistics.median(times[False]), statistics.median(times[True])
    print(f"\nmedian of {args.repeats}: train() off {off:.2f} s, on {on:.2f} s: {100 * (on / off - 1):+.1f}%")
    off, on = statistics.median(speed[False]), statistics.median(speed[True])
    print(f"training speed off {off:.0f} images/s, on {on:.0f} images/s: {100 * (on / off - 1):+.1f}%")


if __name__ == "__main__":
    main()
