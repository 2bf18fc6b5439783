"""Sweeps on this machine: ASHA against the same configurations trained in full, the sweep
machinery's overhead per trial, and the Sweep page's rerender with 100 trials.

    python benchmarks/sweep.py asha [--trials 32] [--epochs 15] [--parallel 2] [--dataset digits]
    python benchmarks/sweep.py page [--trials 100]

``asha`` runs two sweeps over the same search space with the same random sampler seed, so
both draw the same configurations (a random sampler never looks at results): one with the
ASHA pruner (successive halving, rungs at epochs 1, 3, 9), one with no pruner (every
configuration trained for all its epochs). Each trial is a ResNet-20 run on the workbench's
queue, as the app runs them. It reports, side by side, the best trial's (by validation
accuracy) test accuracy, the epochs trained, and the wall time, command to result; and the
overhead of the sweep machinery per trial (ask, suggest, tell in the sweep's process; report
and the prune decision in the training child).

``page`` writes a sweep of ``--trials`` finished trials (10 epochs each, a third pruned), each
with a run folder, and renders the Sweep page under AppTest: the server time of the first
render, of a rerender with nothing new (what the live view does every 2 s), of one after a
running trial reported an epoch (the curves drawn again), and of one after a trial finished
(every figure drawn again).

Measured (2-core Intel Xeon VM with AMX, no GPU): see benchmarks/RESULTS.md, "Sweeps".

Last measured (2026-12-05, the 2-vCPU Xeon VM; RESULTS.md "Sweeps"): ASHA picked the same best
trial as the 32 configurations in full with 74 of 480 epochs (15%), 66 s against 139 s;
25 ms of machinery a trial; the Sweep page with 100 trials rerenders in 0.05-0.25 s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPACE = ["lr=log:1e-3:1", "weight_decay=log:1e-5:1e-2", "batch_size=32,64,128",
         "label_smoothing=float:0:0.2"]


def asha(trials: int, epochs: int, parallel: int, dataset: str, seed: int) -> None:
    os.environ.setdefault("RESNET_WORKBENCH_WARM_WORKER", "1")
    from resnet_core.runs.folder import Run
    from resnet_core.workbench import sweep

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pruner in ("asha", "none"):
            runs_dir = Path(tmp) / pruner
            start = time.perf_counter()
            result = sweep(SPACE, trials=trials, parallel=parallel, pruner=pruner, sampler="random",
                           seed=seed, dataset=dataset, arch="resnet20", epochs=epochs,
                           probe_snapshots=0, runs_dir=runs_dir, progress=False)
            wall = time.perf_counter() - start
            table = result.table()
            runs = [Run(runs_dir / r) for r in table["run"]]
            trained = sum(int(r.status.get("epoch") or 0) for r in runs)
            best = result.best_run
            test = best.summary("test")["accuracy"]
            child = sum(float(r.status.get("sweep_overhead_s") or 0) for r in runs)
            study = result.sweep.study()
            configs = [tuple(sorted(t.params.items())) for t in study.get_trials()]
            rows[pruner] = {"wall": wall, "epochs": trained, "test": test,
                            "val": result.best["value"], "best_trial": result.best["trial"],
                            "pruned": int((table["state"] == "pruned").sum()),
                            "child_overhead": child / len(runs), "configs": configs}
            print(f"{pruner}: {len(runs)} trials, {trained} epochs, best trial "
                  f"{result.best['trial']} (val {result.best['value']:.4f}, test {test:.4f}), "
                  f"{rows[pruner]['pruned']} pruned, {wall:.0f} s", flush=True)
            rows[pruner]["runner_overhead"] = result.overhead_s / len(runs)
    a, full = rows["asha"], rows["none"]
    assert a["configs"] == full["configs"], "the two sweeps drew different configurations"
    print(f"\nsame {trials} configurations ({dataset}, ResNet-20, {epochs} epochs each, parallel {parallel}):")
    print(f"  {'':<22} {'ASHA':>10} {'in full':>10}")
    print(f"  {'best trial (by val)':<22} {a['best_trial']:>10} {full['best_trial']:>10}")
    print(f"  {'its test accuracy':<22} {a['test']:>10.4f} {full['test']:>10.4f}")
    print(f"  {'epochs trained':<22} {a['epochs']:>10} {full['epochs']:>10}")
    print(f"  {'wall, command to result':<22} {a['wall']:>9.0f}s {full['wall']:>9.0f}s")
    print(f"ASHA: {100 * a['epochs'] / full['epochs']:.0f}% of the epochs, {a['wall'] / full['wall']:.2f}x "
          f"the wall time, best test accuracy {100 * (a['test'] - full['test']):+.2f} points")
    for name, r in rows.items():
        print(f"overhead per trial ({name}): {1000 * r['runner_overhead']:.1f} ms in the sweep's "
              f"process (ask, suggest, tell), {1000 * r['child_overhead']:.1f} ms in the child "
              f"(load the study, report, prune decisions)")


def page(trials: int) -> None:
    from resnet_core.sweeps.study import SweepConfig, create_sweep
    from resnet_core.training.config import TrainConfig

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = SweepConfig(base=TrainConfig(dataset="digits", epochs=10), params=SPACE,
                             trials=trials, sampler="random")
        found = create_sweep(root, config)
        study = found.study()
        rng = random.Random(0)
        for n in range(trials):
            _add_trial(study, config, found, root, n, rng)
        found.set_state("running")
        os.environ["RESNET_WORKBENCH_RUNS"] = str(root)
        os.chdir(ROOT)
        sys.path.insert(0, str(ROOT))
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(str(ROOT / "pages" / "navigation.py"), default_timeout=120)
        at.run()
        at.switch_page("sweep.py")
        first = _timed(at.run)
        assert not at.exception, at.exception
        same = [_timed(at.run) for _ in range(5)]
        moved = []
        for n in range(trials, trials + 3):
            config.trials = n + 1
            _add_trial(study, config, found, root, n, rng)
            moved.append(_timed(at.run))
        open_trial = study.ask()
        config.space().suggest(open_trial)
        epoch = []
        for e in range(1, 6):  # a running trial reports an epoch between two rerenders
            open_trial.report(0.5 + 0.05 * e, e)
            epoch.append(_timed(at.run))
        print(f"Sweep page with {trials} trials (AppTest, server time): first render {first:.2f} s; "
              f"rerender, nothing new: median {statistics.median(same):.3f} s (max {max(same):.3f}); "
              f"after a running trial reported an epoch: median {statistics.median(epoch):.3f} s "
              f"(max {max(epoch):.3f}); after a trial finished: median "
              f"{statistics.median(moved):.3f} s (max {max(moved):.3f})")


def _add_trial(study, config, found, root: Path, n: int, rng) -> None:
    """A finished trial with its run folder (status, config, job.json) as a real one leaves."""
    import optuna

    from resnet_core.atomic import atomic_write_json
    from resnet_core.runs.folder import Run
    from resnet_core.runs.jobfile import LOCAL_OWNER, SweepTrial, write_new_job

    trial = study.ask()
    params = config.space().suggest(trial)
    pruned = n % 3 == 2
    last = 1 + rng.randrange(3) if pruned else 10
    curve = [min(0.99, 0.3 + 0.07 * e + rng.random() * 0.05) for e in range(1, last + 1)]
    for epoch, value in enumerate(curve, 1):
        trial.report(value, epoch)
    run = Run(root / f"20261129-000000-digits-resnet20-{n:04x}")
    run.dir.mkdir()
    atomic_write_json(run.config_path, {**config.base.to_dict(), **params})
    write_new_job(run, processes=1, owner=LOCAL_OWNER, sweep=SweepTrial(found.id, trial.number))
    atomic_write_json(run.dir / "status.json", {"state": "pruned" if pruned else "completed",
                                                "epoch": last, "best_val_accuracy": max(curve)})
    trial.set_user_attr("run_id", run.id)
    if pruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    else:
        study.tell(trial, max(curve))


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    a = sub.add_parser("asha")
    a.add_argument("--trials", type=int, default=32)
    a.add_argument("--epochs", type=int, default=15)
    a.add_argument("--parallel", type=int, default=2)
    a.add_argument("--dataset", default="digits")
    a.add_argument("--seed", type=int, default=0)
    g = sub.add_parser("page")
    g.add_argument("--trials", type=int, default=100)
    args = p.parse_args()
    if args.what == "asha":
        asha(args.trials, args.epochs, args.parallel, args.dataset, args.seed)
    else:
        page(args.trials)


if __name__ == "__main__":
    main()
