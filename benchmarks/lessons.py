"""Run every lesson as the Lessons page does and check that its answer is what the runs show.

    python benchmarks/lessons.py [--lessons degradation,activations,...] [--fashion]

``--fashion`` runs the lessons' real-data variants (Fashion-MNIST, ``lessons.real_data_variant``)
instead; it needs Debian's dataset-fashion-mnist (or the files in the data folder).

Each lesson's locked configs train here, one after another (as the dashboard's queue runs
them); the script prints each run's final training loss and error, test accuracy and wall
time, then the measured outcome against the lesson's stated answer. A lesson whose answer
the runs contradict must change its text, not its test. Figures go to benchmarks/RESULTS.md.

Last measured (2026-11-27, 2 vCPUs; RESULTS.md "Lessons"): every lesson's runs agree with its
answer (degradation: plain-56 85.4% training error against residual-56 7.9%); the
Fashion-MNIST variants on 2026-11-29 likewise.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from resnet_core import train
from resnet_core.classroom.lesson_queue import (
    lesson_answer,
    lesson_data,
    resolve_run_refs,
    transfer_rows,
)
from resnet_core.classroom.lessons import LESSONS, REAL_DATA_SUFFIX, real_data_variant
from resnet_core.training.diagnostics import read_diagnostics


def final(run) -> dict:
    m = run.metrics()
    t = m[m["split"] == "train"]
    return {"loss": float(t["loss"].iloc[-1]), "error": 1 - float(t["accuracy"].iloc[-1]),
            "test": run.summary().get("accuracy")}


def outcome(lesson_id: str, results: dict, runs: dict) -> str:
    """The choice the measurements support, in the lesson's own words."""
    lesson = LESSONS[lesson_id.removesuffix(REAL_DATA_SUFFIX)]
    lesson_id = lesson.id
    if lesson_id == "degradation":
        worst = max(results, key=lambda k: results[k]["error"])
        return {"residual 20": lesson.choices[0], "plain 20": lesson.choices[1],
                "residual 56": lesson.choices[2], "plain 56": lesson.choices[3]}[worst]
    if lesson_id == "activations":
        stem = {k: read_diagnostics(r.dir).query("step == 1").set_index("block")["grad_norm"]["stem"]
                for k, r in runs.items()}
        ratio = stem["relu"] / stem["sigmoid"]
        print(f"  stem gradient norm at step 1: relu {stem['relu']:.4g}, sigmoid "
              f"{stem['sigmoid']:.4g}, tanh {stem['tanh']:.4g}; relu/sigmoid {ratio:.0f}x")
        return lesson.choices[2] if ratio >= 100 else lesson.choices[1] if ratio >= 5 else lesson.choices[0]
    if lesson_id == "normalisation":
        best = min(results, key=lambda k: results[k]["loss"])
        return lesson.choices[["batch", "group", "layer", "none"].index(best)]
    if lesson_id == "depth":
        best = min(results, key=lambda k: results[k]["error"])
        return lesson.choices[["resnet20", "resnet56", "resnet110"].index(best)]
    if lesson_id == "transfer":  # the answer is read off the k=5 pair (lessons.lesson_answer)
        for row in transfer_rows(runs):
            print(f"  {row['start']:10s} k={row['k']:<3d} test accuracy {row['test accuracy']:.4f}")
        return lesson.choices[lesson_answer(lesson, runs)]
    acc = results["resnet50"]["test"]  # this lesson's answer is read off the run itself
    print(f"  (the answer is the bucket of the measured test accuracy, {acc:.4f})")
    return lesson.choices[0 if acc < 0.5 else 1 if acc < 0.8 else 2 if acc < 0.95 else 3]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lessons", default=None)
    p.add_argument("--fashion", action="store_true", help="the real-data variants")
    args = p.parse_args()
    default = [i for i, lesson in LESSONS.items() if lesson.real_data or not args.fashion]
    for lesson_id in args.lessons.split(",") if args.lessons else default:
        lesson = LESSONS[lesson_id]
        if args.fashion:
            lesson = real_data_variant(lesson)
        overrides = {"dataset": "digits"} if lesson_id == "article" else {}  # no MNIST offline
        print(f"\n## {lesson.title}" + (" (digits: MNIST is not on this machine)" if overrides else ""))
        results, runs = {}, {}
        with tempfile.TemporaryDirectory() as tmp:
            if lesson_data(lesson, tmp):  # a lesson that brings its own image folders
                overrides["data_root"] = tmp
            for label, config in zip(lesson.labels, lesson.configs(runs_dir=tmp, **overrides), strict=True):
                start = time.perf_counter()
                config = resolve_run_refs(config, {k: r.dir for k, r in runs.items()})
                runs[label] = train(config, progress=False)
                results[label] = final(runs[label])
                r = results[label]
                print(f"  {label:12s} train loss {r['loss']:.4f}, train error {r['error']:.4f}, "
                      f"test accuracy {r['test']:.4f}, {time.perf_counter() - start:.1f} s", flush=True)
            seen = outcome(lesson.id, results, runs)
            expected = lesson.choices[lesson_answer(lesson, runs)]
        print(f"  measured: {seen!r}; lesson's answer: {expected!r} -> "
              f"{'AGREES' if seen == expected else 'DISAGREES'}", flush=True)


if __name__ == "__main__":
    main()
