"""Ten browser sessions poll the Train and Runs pages for a minute while a job trains.

    python benchmarks/load_test.py [--sessions 10] [--seconds 60] [--epochs 400]

Loopback only and bounded: one real ``streamlit run app.py`` on 127.0.0.1, one headless
Debian Chromium with ``--sessions`` browser contexts (separate sessions, as separate people
would have), each alternating Train and Runs for ``--seconds``. Meanwhile
``python -m resnet_core train --dataset digits --epochs N`` writes into the app's runs folder
(the Train page follows the newest active run). The same training command runs first with
no browser open, in the same invocation, as the reference for images/s.

Each session's first (cold) load fetches the app's bundle and opens a session; it is
reported apart (``cold_load_median_s``) and the minute starts after it. At the end the job
is stopped with SIGTERM (as Ctrl-C would) and must leave a resumable checkpoint.

Reports: page-ready time (navigation until the page shows the run: median and p95), errors
seen on any page, whether every session saw the job state that status.json held, the CPU
seconds of the Streamlit server, the browser and the trainer (from /proc; the browsers share
this machine's cores), and training images/s with and without the browsers. The run's
files are checked intact at the end. Figures go to benchmarks/RESULTS.md.

Last measured (2026-11-27, 2 vCPUs; RESULTS.md "Load"): 10 sessions for a minute, 63 page
loads and no error; page ready median 6.4 s, p95 24.2 s; training at 0.42x of no browser.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from e2e import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")
REFERENCE_EPOCHS = 60  # enough for a steady images/s (digits: about half a second an epoch)


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK  # utime + stime
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total


def pids_matching(*needles: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(n in cmd for n in needles):
            found.append(int(entry.name))
    return found


def train_command(runs: Path, epochs: int) -> list[str]:
    return [sys.executable, "-m", "resnet_core", "train", "--dataset", "digits", "--epochs",
            str(epochs), "--quiet", "--probe-snapshots", "0", "--runs-dir", str(runs)]


def images_per_sec(run_dir: Path) -> float:
    lines = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    train = [m for m in lines if m["split"] == "train" and m["images_per_sec"]]
    seconds = sum(m["elapsed_s"] for m in train)
    return sum(m["images_per_sec"] * m["elapsed_s"] for m in train) / seconds


def status_state(run_dir: Path) -> str:
    try:
        return json.loads((run_dir / "status.json").read_text())["state"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return "?"


async def session(browser, url: str, run_dir: Path, seconds: float, results: dict, idx: int):
    """One person: Train, Runs, Train, ... for ``seconds``. Returns the open context."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    n, end = -1, None  # load -1 is the cold first load (the bundle, a new session): not timed
    while end is None or time.monotonic() < end:
            which = "train" if n % 2 == 1 else "runs"
            start = time.monotonic()
            await page.goto(f"{url}/{which}")
            await page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
            if which == "train":
                head = page.locator("h2", has_text=run_dir.name).first
                await head.wait_for(timeout=60_000)
                seen = (await head.inner_text()).split("·")[-1].strip().split()[-1]
                results["states"].append((seen, status_state(run_dir), time.monotonic()))
            else:
                await page.get_by_text("Runs", exact=True).first.wait_for(timeout=60_000)
                await page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
            if n >= 0:
                results["ready"].append((which, time.monotonic() - start))
            else:
                results["cold"].append(time.monotonic() - start)
            errors = await page.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count()
            if errors:
                results["errors"].append((idx, which, await page.locator(
                    "[data-testid='stException'], [data-testid='stAlertContentError']").first.inner_text()))
            n += 1
            if end is None:
                end = time.monotonic() + seconds
            await page.wait_for_timeout(1000)  # a person reads the page for a moment
    results["loads_per_session"].append(n)
    return context


async def poll(url: str, run_dir: Path, sessions: int, seconds: float) -> dict:
    from playwright.async_api import async_playwright

    results = {"ready": [], "cold": [], "errors": [], "states": [], "loads_per_session": []}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            contexts = await asyncio.gather(*(session(browser, url, run_dir, seconds, results, i)
                                              for i in range(sessions)))
            # Before anything closes: Chromium's processes and Playwright's driver.
            results["browser_cpu_s"] = cpu_seconds(pids_matching("chromium"))
            results["driver_cpu_s"] = cpu_seconds(pids_matching("run-driver"))
            for context in contexts:
                await context.close()
        finally:
            await browser.close()
    return results


def run_load(sessions: int = 10, seconds: float = 60.0, epochs: int = 400,
             workdir: Path | None = None, reference: bool = True) -> dict:
    """The load as the header says; ``reference=False`` skips the no-browser training run
    (the test checks behaviour under load, not the images/s ratio)."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="load-"))
    runs, reference_runs = workdir / "runs", workdir / "reference"
    env = {"RESNET_WORKBENCH_RUNS": str(runs), "RESNET_WORKBENCH_DATA": str(workdir / "data")}
    out: dict = {"sessions": sessions, "seconds": seconds, "epochs": epochs}
    with streamlit_server(env) as url:
        port = url.rsplit(":", 1)[1]
        server = pids_matching("streamlit", "run", "app.py", port)
        if reference:  # the same training with the server up and no browser
            subprocess.run(train_command(reference_runs, REFERENCE_EPOCHS), check=True, capture_output=True)
            (ref_dir,) = [p for p in reference_runs.iterdir() if p.is_dir()]
            out["reference_images_per_sec"] = images_per_sec(ref_dir)
        # Under load.
        trainer = subprocess.Popen(train_command(runs, epochs), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        while not runs.exists() or not any(p.is_dir() for p in runs.iterdir()):
            time.sleep(0.1)
        (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
        while status_state(run_dir) != "running":
            time.sleep(0.1)
        cpu0 = {"server": cpu_seconds(server), "trainer": cpu_seconds([trainer.pid])}
        wall0 = time.monotonic()
        results = asyncio.run(poll(url, run_dir, sessions, seconds))
        wall = time.monotonic() - wall0
        cpu1 = {"server": cpu_seconds(server), "trainer": cpu_seconds([trainer.pid])}
        still_running_after_load = status_state(run_dir) == "running"
        # The load is over: stop the job as a person would (SIGTERM = Ctrl-C: it checkpoints
        # and stops after the current step), rather than wait out the epochs.
        trainer.send_signal(signal.SIGTERM)
        stdout, stderr = trainer.communicate(timeout=300)
        out["trainer_returncode"] = trainer.returncode
    ready = sorted(t for _, t in results["ready"])
    by_page = {w: sorted(t for p, t in results["ready"] if p == w) for w in ("train", "runs")}
    mismatches = [s for s in results["states"] if s[0] != s[1]]
    out.update({
        "page_loads": len(ready),
        "cold_load_median_s": statistics.median(results["cold"]),
        "ready_median_s": statistics.median(ready),
        "ready_p95_s": ready[int(0.95 * (len(ready) - 1))],
        "ready_median_by_page_s": {w: statistics.median(t) for w, t in by_page.items() if t},
        "loads_per_session": results["loads_per_session"],
        "errors": results["errors"],
        "state_checks": len(results["states"]),
        "state_mismatches": mismatches,
        "states_seen": sorted({s[0] for s in results["states"]}),
        "wall_s": wall,
        "server_cpu_s": cpu1["server"] - cpu0["server"],
        "server_cpu_s_per_session_minute": (cpu1["server"] - cpu0["server"]) / (sessions * wall / 60),
        "trainer_cpu_s": cpu1["trainer"] - cpu0["trainer"],
        "browser_cpu_s": results["browser_cpu_s"],
        "playwright_driver_cpu_s": results["driver_cpu_s"],
        "job_ran_through_the_load": still_running_after_load,
        "loaded_images_per_sec": images_per_sec(run_dir),
        "run_dir": str(run_dir),
        "final_state": status_state(run_dir),
    })
    if reference:
        out["images_per_sec_ratio"] = out["loaded_images_per_sec"] / out["reference_images_per_sec"]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--epochs", type=int, default=400)
    args = p.parse_args()
    out = run_load(args.sessions, args.seconds, args.epochs)
    print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
