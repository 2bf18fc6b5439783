"""The executors' cost per run, and what it means for a class: issue 30's targets.

    python benchmarks/executors.py overhead [--repeats 3] [--epochs 15]
    python benchmarks/executors.py simulate --run-s 10 --overhead local=0 ray=1.0 slurm=3.0

``overhead`` times what a person waits for, command to completed: ``python -m resnet_core
train --dataset digits --epochs 15 --executor E`` (a ResNet-20 run of about 10 s on 2 cores),
for the local, Ray and Slurm executors, interleaved, ``--repeats`` times each, in one
invocation. It runs itself again inside a private network namespace (``unshare --net``,
loopback only; root) where it starts a Ray head (2 CPUs) and a single-node Slurm
(tests/cluster/slurm.sh), and stops them at the end. Each executor's overhead is its median
minus the local median: the command's own start-up (Python, torch) is in both.

``simulate`` is the paper exercise: a class of 100 students presses Submit at once; the
queue releases runs to W workers (1, 4, 16), each run taking ``--run-s`` plus the executor's
overhead; it prints when the last run finishes and the median student's wait for a result.

Measured (2-core Intel Xeon VM with AMX, no GPU): see benchmarks/RESULTS.md, "Executors".

Last measured (2026-12-05, the 2-vCPU Xeon VM; RESULTS.md "Executors"): command to completed,
median of 3: Ray 8.4 s (+1.7 s over local), Slurm 9.1 s (+2.4 s).
"""

from __future__ import annotations

import argparse
import heapq
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSIDE = "_EXECUTORS_BENCH_INSIDE"


def time_one(executor: str, runs: Path, epochs: int) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "resnet_core", "train", "--dataset", "digits",
                           "--epochs", str(epochs), "--quiet", "--executor", executor,
                           "--runs-dir", str(runs)], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{executor}: {done.stderr[-2000:]}")
    return took


def overhead_inside(repeats: int, epochs: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="executors-"))
    ray = Path(sys.executable).parent / "ray"
    subprocess.run([str(ray), "start", "--head", "--port=6379", "--num-cpus=2", "--include-dashboard=false",
                    "--disable-usage-stats"], check=True, capture_output=True)
    subprocess.run([str(ROOT / "tests" / "cluster" / "slurm.sh"), "start", str(work / "slurm")], check=True)
    os.environ["RESNET_WORKBENCH_RAY_ADDRESS"] = "127.0.0.1:6379"
    os.environ["SLURM_CONF"] = str(work / "slurm" / "slurm.conf")
    try:
        times: dict[str, list[float]] = {"local": [], "ray": [], "slurm": []}
        time_one("local", work / "warmup", 1)  # the page cache, as a second command would find it
        for i in range(repeats):
            for executor in times:
                times[executor].append(time_one(executor, work / f"{executor}-{i}", epochs))
                print(f"{executor:6s} run {i + 1}: {times[executor][-1]:.1f} s", flush=True)
        local = statistics.median(times["local"])
        print(f"\ncommand to completed, ResNet-20 on digits, {epochs} epochs, median of {repeats}:")
        for executor, values in times.items():
            median = statistics.median(values)
            print(f"  {executor:6s} {median:5.1f} s (runs: {', '.join(f'{v:.1f}' for v in values)})"
                  f"  overhead {median - local:+.1f} s")
    finally:
        subprocess.run([str(ROOT / "tests" / "cluster" / "slurm.sh"), "stop", str(work / "slurm")])
        subprocess.run([str(ray), "stop", "--force"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def overhead(args) -> None:
    if os.environ.get(INSIDE):
        overhead_inside(args.repeats, args.epochs)
        return
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        raise SystemExit("run as root: the clusters start inside a private network namespace (unshare --net)")
    script = (f"ip link set lo up && {INSIDE}=1 exec {sys.executable} {Path(__file__).resolve()} overhead "
              f"--repeats {args.repeats} --epochs {args.epochs}")
    raise SystemExit(subprocess.run(["unshare", "--net", "bash", "-c", script]).returncode)


def simulate_class(students: int, workers: int, run_s: float, overhead_s: float) -> tuple[float, float]:
    """Every student submits one run at t=0; the queue releases them in turn to ``workers``
    slots. (time the last run finishes, the median student's wait from Submit to result)"""
    free = [0.0] * workers
    heapq.heapify(free)
    finished = []
    for _ in range(students):
        start = heapq.heappop(free)
        end = start + overhead_s + run_s
        finished.append(end)
        heapq.heappush(free, end)
    return max(finished), statistics.median(finished)


def simulate(args) -> None:
    overheads = dict(item.split("=") for item in args.overhead)
    print(f"a class of {args.students}, one run each of {args.run_s:.0f} s, all submitted at once:")
    print(f"  {'executor':8s} {'overhead':>8s}  " + "  ".join(f"{w:>2d} workers: last / median" for w in args.workers))
    for name, value in overheads.items():
        cells = []
        for w in args.workers:
            last, median = simulate_class(args.students, w, args.run_s, float(value))
            cells.append(f"{last / 60:6.1f} / {median / 60:4.1f} min    ")
        print(f"  {name:8s} {float(value):7.1f}s  " + "  ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    o = sub.add_parser("overhead")
    o.add_argument("--repeats", type=int, default=3)
    o.add_argument("--epochs", type=int, default=15)
    s = sub.add_parser("simulate")
    s.add_argument("--students", type=int, default=100)
    s.add_argument("--run-s", type=float, default=10.0)
    s.add_argument("--workers", type=int, nargs="+", default=[1, 4, 16])
    s.add_argument("--overhead", nargs="+", default=["local=0"], help="NAME=SECONDS per run")
    args = parser.parse_args()
    {"overhead": overhead, "simulate": simulate}[args.what](args)


if __name__ == "__main__":
    main()
