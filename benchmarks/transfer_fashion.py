"""Does pretraining on real photos help few-shot learning? The transfer lesson's k-shot runs
on digits 5-9 (k = 5, 20, 100 images per class, 8 px), from scratch, from a net pretrained
on digits 0-4 (the lesson's offline variant), and from one pretrained on all of Fashion-MNIST
at the same 8 px (``lessons.with_fashion``), in one invocation.

    python benchmarks/transfer_fashion.py [--seeds 0]

Every run is the lesson's own TrainConfig (``Lesson.configs``), trained with ``train()``;
the few-shot runs are tested on all test images of digits 5-9. Needs Debian's
dataset-fashion-mnist. Figures in benchmarks/RESULTS.md ("Fashion-MNIST: the transfer lesson").

Last measured (2026-11-29, 2-vCPU Xeon with AMX; RESULTS.md "Fashion-MNIST"): k = 5 images per
class: from Fashion-MNIST 0.609, from the digits 0-4 net 0.765, from scratch 0.816.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from resnet_core import train
from resnet_core.classroom.lesson_queue import lesson_data, resolve_run_refs
from resnet_core.classroom.lessons import LESSONS, with_fashion


def run_lesson(lesson, data_root: Path, runs: Path, seed: int) -> dict[str, float]:
    dirs, accuracy = {}, {}
    for label, config in zip(lesson.labels, lesson.configs(data_root=str(data_root),
                                                           runs_dir=str(runs), seed=seed),
                             strict=True):
        start = time.perf_counter()
        run = train(resolve_run_refs(config, dirs), progress=False)
        dirs[label] = run.dir
        accuracy[label] = run.summary("test")["accuracy"]
        print(f"  {label}: test accuracy {accuracy[label]:.4f} ({time.perf_counter() - start:.0f} s)",
              flush=True)
    return accuracy


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_root, runs = Path(tmp) / "data", Path(tmp) / "runs"
        lesson_data(LESSONS["transfer"], data_root)
        for seed in args.seeds:
            print(f"seed {seed}, pretrained on digits 0-4:")
            digits = run_lesson(LESSONS["transfer"], data_root, runs, seed)
            print(f"seed {seed}, pretrained on Fashion-MNIST:")
            fashion = run_lesson(with_fashion(LESSONS["transfer"]), data_root, runs, seed)
            print("\n| k | scratch | from digits 0-4 | from Fashion-MNIST |\n|---|---|---|---|")
            for k in (5, 20, 100):
                print(f"| {k} | {digits[f'scratch, k={k}']:.3f} | {digits[f'pretrained, k={k}']:.3f} "
                      f"| {fashion[f'pretrained, k={k}']:.3f} |")


if __name__ == "__main__":
    main()
