"""What flip TTA costs at evaluation: one run's best.pt on its test split, plain and with TTA,
alternately, in one process.

    python benchmarks/tta_cost.py RUN_DIR [--repeats 2]

Last measured (2026-12-07, 2-vCPU AMD EPYC without AVX-512, fp32; RESULTS.md "Time to
accuracy"): the ResNet-20 run with crops, flips and TTA (seed 0), 10,000 test images: 3.84 /
3.71 s plain, 7.56 / 7.17 s with TTA (about 3.6 s more per 10,000 images); 0.9283 with TTA,
0.9261 plain.
"""

from __future__ import annotations

import argparse
import time

import torch

from resnet_core import load_checkpoint, model_from_checkpoint
from resnet_core.data.dataset import with_statistics
from resnet_core.data.sources import load_dataset_for
from resnet_core.training.evaluation import evaluate_model


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir")
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    model, config, info = model_from_checkpoint(load_checkpoint(f"{args.run_dir}/checkpoints/best.pt"))
    model = model.to(memory_format=torch.channels_last)
    dataset = with_statistics(load_dataset_for(config), (info.mean, info.std))
    times = {False: [], True: []}
    for _ in range(args.repeats):
        for tta in (False, True):
            start = time.perf_counter()
            result = evaluate_model(model, dataset, "test", torch.device("cpu"), channels_last=True, tta=tta)
            times[tta].append(time.perf_counter() - start)
    summary = result.summary()
    print(f"plain: {' / '.join(f'{t:.2f} s' for t in times[False])}; "
          f"with TTA: {' / '.join(f'{t:.2f} s' for t in times[True])}; "
          f"accuracy {summary['accuracy']:.4f} with TTA, {summary['plain_accuracy']:.4f} plain")


if __name__ == "__main__":
    main()
