"""What a person waits for in the app, in one invocation (issue 16):

    python benchmarks/quickstart.py [--rounds 2]

1. First visit: `streamlit run app.py` started cold, a browser opens the Home page at once;
   seconds from the command to a usable page (the quick-start button on screen).
2. Quick start: on that page, click "Train ResNet-20 on digits" and wait until the Train page
   says the run completed (its test accuracy shows); seconds from the click. Against the same
   configuration from the CLI (`python -m resnet_core train --dataset digits --arch resnet20`,
   command to printed run folder), alternating. Target: the click at most 1.2x the CLI.
Chromium runs headless on the same machine, so the app's figures include the browser's CPU.

Last measured (2026-11-28, 2 vCPUs; RESULTS.md "From click or command to result"): a cold
server's first usable Home page 4.1 s; Quick start click to completed / the same CLI run 1.11x.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from e2e import browser_page, streamlit_server  # noqa: E402


def cli_wall(runs: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "resnet_core", "train", "--dataset", "digits",
                    "--arch", "resnet20", "--quiet", "--runs-dir", runs], check=True,
                   capture_output=True)
    return time.perf_counter() - start


def app_rounds(rounds: int, runs: str, cli_runs: str) -> tuple[float, list[float], list[float]]:
    clicks, clis = [], []
    start = time.perf_counter()
    with streamlit_server({"RESNET_WORKBENCH_RUNS": runs}) as url, browser_page(1400, 1800) as page:
        page.goto(url)
        button = page.get_by_role("button", name="Train ResNet-20 on digits")
        button.wait_for(timeout=120_000)
        first_visit = time.perf_counter() - start
        page.wait_for_timeout(8000)  # let the warm child finish importing, as a person reads
        for r in range(rounds):
            if r % 2:
                clis.append(cli_wall(cli_runs))
            if r:
                page.goto(url)
                button.wait_for(timeout=60_000)
                page.wait_for_timeout(8000)
            clicked = time.perf_counter()
            button.click()
            page.get_by_text("Test accuracy").first.wait_for(timeout=300_000)
            clicks.append(time.perf_counter() - clicked)
            if r % 2 == 0:
                clis.append(cli_wall(cli_runs))
    return first_visit, clicks, clis


def breakdown(run: Path) -> dict:
    """Where a run's time went: queued -> started -> ended (1 s resolution), the steps
    (sum of the train lines' elapsed_s), and images/s over the steps."""
    from datetime import datetime

    status = json.loads((run / "status.json").read_text())
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    train = [x for x in lines if x["split"] == "train"]
    t = {k: datetime.fromisoformat(status[k]).timestamp()
         for k in ("created_at", "started_at", "ended_at")}
    steps = sum(x["elapsed_s"] for x in train)
    images = sum(x["images_per_sec"] * x["elapsed_s"] for x in train)
    return {"queued_s": t["started_at"] - t["created_at"],
            "loop_s": t["ended_at"] - t["started_at"], "steps_s": round(steps, 2),
            "images_per_s": round(images / steps)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as runs, tempfile.TemporaryDirectory() as cli_runs:
        first, clicks, clis = app_rounds(args.rounds, runs, cli_runs)
        for where, folder in (("app", runs), ("cli", cli_runs)):
            for run in sorted(Path(folder).iterdir()):
                print(json.dumps({"where": where, **breakdown(run)}))
    print(json.dumps({"first_visit_s": round(first, 2), "click_to_completed_s":
                      [round(x, 2) for x in clicks], "cli_wall_s": [round(x, 2) for x in clis]}))
    c, w = statistics.median(clicks), statistics.median(clis)
    print(f"| first visit, cold server | **{first:.1f} s** to a usable Home page |")
    print(f"| quick start | click to completed {c:.1f} s | CLI {w:.1f} s | **{c / w:.2f}x** |")


if __name__ == "__main__":
    main()
