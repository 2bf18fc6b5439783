"""A run launched from the dashboard against the same run from the CLI, in one invocation.

    .venv/bin/python benchmarks/app_vs_cli.py [--epochs 60] [--rounds 2]

Alternates: CLI run, then the same config launched from the Train page of a real
`streamlit run app.py` with one headless-Chromium tab left open on the live Train page (it
polls at the default refresh interval). Throughput is images/s over all train lines of
metrics.jsonl. During each app run the CPU seconds of every process on the machine are
summed by who they belong to (the training child, the server, Chromium, the harness), so the
gap to the CLI has names. A last app run measures page switches (Train -> Runs -> Train) while
it trains. Prints a JSON summary; the figures go to benchmarks/RESULTS.md.

Last measured (2026-11-28, the 2-vCPU CPU, no GPU; RESULTS.md "Issue 16, later"): app with
its live Train page open / CLI 0.83x images/s (median; target 0.9x, not met); a page switch
while it trains, median 0.50 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from resnet_core import RunStore  # noqa: E402

from e2e import browser_page, streamlit_server, wait_for_app  # noqa: E402


def images_per_sec(run_dir: Path) -> float:
    from resnet_core.runs.jsonl import read_jsonl

    lines = [r for r in read_jsonl(run_dir / "metrics.jsonl") if r["split"] == "train"]
    images = sum(r["images_per_sec"] * r["elapsed_s"] for r in lines)
    return images / sum(r["elapsed_s"] for r in lines)


def cli_run(runs: Path, epochs: int) -> float:
    out = subprocess.run([sys.executable, "-m", "resnet_core", "train", "--epochs", str(epochs),
                          "--quiet", "--runs-dir", str(runs)], capture_output=True, text=True,
                         check=True)
    return images_per_sec(Path(out.stdout.strip().splitlines()[-1]))


def launch_from_page(page, url: str, epochs: int) -> None:
    wait_for_app(page, url + "/train", "Learning rate")
    box = page.get_by_role("spinbutton", name="Epochs")
    box.fill(str(epochs))
    box.press("Enter")
    page.wait_for_timeout(1500)  # let the rerun with the new value finish
    page.get_by_role("button", name="Train", exact=True).click()
    page.locator("[data-testid='stProgress']").first.wait_for(timeout=60_000)


class CpuAccount:
    """CPU seconds each process used while sampled, summed by the role ``role(proc)`` gives.
    A process seen first mid-way counts from its start; one that ends keeps its last sample."""

    def __init__(self, role) -> None:
        self.role, self.first, self.last, self.roles = role, {}, {}, {}
        self.sample(initial=True)

    def sample(self, initial: bool = False) -> None:
        for proc in psutil.process_iter(["name", "cmdline"]):
            try:
                t = proc.cpu_times()
                used = t.user + t.system  # not its reaped children: they are counted as seen
                key = (proc.pid, proc.create_time())
                self.roles.setdefault(key, self.role(proc))
            except psutil.Error:
                continue
            self.first.setdefault(key, used if initial else 0.0)
            self.last[key] = used

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, used in self.last.items():
            role = self.roles[key]
            out[role] = round(out.get(role, 0.0) + used - self.first[key], 1)
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def roles_for(server_pid: int, child_pid: int | None):
    def role(proc) -> str:
        if proc.pid == server_pid:
            return "streamlit server"
        if proc.pid == child_pid:
            return "training child"
        name = " ".join(proc.info.get("cmdline") or [proc.info.get("name") or ""])
        if "resnet_core.jobs" in name:
            return "warm child"
        if "chrom" in name:
            return "chromium"
        if proc.pid == os.getpid() or "playwright" in name or "node" in name.split("/")[-1]:
            return "harness (playwright)"
        return "other"
    return role


def app_run(runs: Path, epochs: int) -> tuple[float, dict[str, float]]:
    with streamlit_server({"RESNET_WORKBENCH_RUNS": str(runs)}, with_process=True) as (url, server), \
            browser_page() as page:
        launch_from_page(page, url, epochs)
        # Wait by reading status.json once a second, not through the browser: Playwright's
        # wait_for polls the page every animation frame and would slow the run it measures.
        run = RunStore(runs).runs()[0]
        # The progress bar is up, so the child has started and written its pid.
        cpu = CpuAccount(roles_for(server.pid, run.status.get("pid")))
        while run.status.get("state") in ("queued", "running"):
            time.sleep(1.0)
            cpu.sample()
        assert run.status["state"] == "completed", run.status
    return images_per_sec(run.dir), cpu.totals()


def page_switches(runs: Path, epochs: int, switches: int = 8) -> list[float]:
    """Seconds from a click on a sidebar link to the new page's content, while training."""
    times = []
    with streamlit_server({"RESNET_WORKBENCH_RUNS": str(runs)}) as url, browser_page() as page:
        launch_from_page(page, url, epochs)
        for i in range(switches):
            target, marker = (("Runs", "Every run under") if i % 2 == 0 else ("Train", "Learning rate"))
            start = time.perf_counter()
            page.locator(".st-key-page_nav").get_by_text(target, exact=True).click()
            page.get_by_text(marker).first.wait_for(timeout=60_000)
            times.append(time.perf_counter() - start)
            page.wait_for_timeout(500)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cli, app, cpu = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            cli.append(cli_run(Path(tmp) / f"cli{r}", args.epochs))
            speed, used = app_run(Path(tmp) / f"app{r}", args.epochs)
            app.append(speed)
            cpu.append(used)
            print(f"round {r + 1}: cli {cli[-1]:.0f} img/s, app {app[-1]:.0f} img/s; "
                  f"CPU seconds during the app run: {used}", flush=True)
        switches = page_switches(Path(tmp) / "switch", args.epochs)
    summary = {
        "workload": f"digits resnet20, {args.epochs} epochs, batch 128",
        "cli_images_per_sec": [round(v) for v in cli],
        "app_images_per_sec": [round(v) for v in app],
        "ratio_app_over_cli": round(statistics.median(app) / statistics.median(cli), 3),
        "app_run_cpu_seconds": cpu,
        "page_switch_median_s": round(statistics.median(switches), 3),
        "page_switch_s": [round(v, 3) for v in switches],
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
