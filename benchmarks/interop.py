"""MLflow export and imports, command to result (issue 28): what a person waits for.

    python benchmarks/interop.py [--runs 4] [--epochs 3]

Trains ``--runs`` short digits runs with TensorBoard on, then times, each as a fresh
``python -m resnet_core`` command (as a user types it): the first ``export-runs --to mlflow``
into a new SQLite store (tables created, every run logged, each completed run's model
exported to ONNX and registered), the same export again (nothing new: the no-op), and
``import-runs`` of the runs' TensorBoard folders and of the MLflow store into another runs
folder. The reference is ``python -m resnet_core runs`` (an interpreter and the package
starting, listing the folder), so the ratios say what the interop costs beyond starting up.

Measured (2-core Intel Xeon VM, no GPU): see benchmarks/RESULTS.md, "TensorBoard and MLflow".

Last measured (2026-12-05, the 2-vCPU Xeon VM; RESULTS.md "TensorBoard and MLflow"): 4 runs:
first export to a new MLflow store 13.1-13.4 s (10.5-10.7x `runs`' 1.25 s), the no-op export
2.5-2.6 s, import of the TensorBoard folders 1.2 s, of the MLflow store 2.5-2.6 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resnet_core import TrainConfig, train


def timed(*args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "resnet_core", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        for seed in range(args.runs):
            train(TrainConfig(dataset="digits", arch="resnet20", epochs=args.epochs, seed=seed,
                              tensorboard=True, runs_dir=str(runs)), progress=False)
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        figures = {
            "runs (reference)": timed("runs", "--runs-dir", str(runs)),
            f"export-runs, {args.runs} runs, new store": timed(
                "export-runs", "--to", "mlflow", "--tracking-uri", uri, "--runs-dir", str(runs)),
            "export-runs again (nothing new)": timed(
                "export-runs", "--to", "mlflow", "--tracking-uri", uri, "--runs-dir", str(runs)),
            f"import-runs, {args.runs} TensorBoard folders": timed(
                "import-runs", str(runs), "--runs-dir", str(Path(tmp) / "from_tb")),
            f"import-runs, {args.runs} MLflow runs": timed(
                "import-runs", uri, "--runs-dir", str(Path(tmp) / "from_mlflow")),
        }
    reference = figures["runs (reference)"]
    for name, seconds in figures.items():
        print(f"{name:<40} {seconds:6.2f} s  ({seconds / reference:4.1f}x the reference)")


if __name__ == "__main__":
    main()
