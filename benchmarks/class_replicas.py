"""A class on 1 and 2 app processes behind HAProxy (issue 40): a join storm, and how many
students keep pages under 2 s.

    python benchmarks/class_replicas.py [--joins 300] [--sessions 30 60 90] [--replicas 1 2]

Both parts go through `python -m resnet_core class-server --replicas N` on 127.0.0.1 (HAProxy
and N `streamlit run app.py` in class mode, one runs folder), training paused (no run queued):
what is measured is serving.

- **Join storm**: ``--joins`` POST /join attempts spread evenly over 60 s from 20 client
  threads against 2 replicas. Every answer must be an admission (303 with a session cookie)
  or a "try again" (429 with Retry-After), never an error or a stall; the slowest answer is
  reported. The per-address join limit is raised for it (every request comes from 127.0.0.1,
  as behind any proxy: SECURITY.md).
- **Students per replica count**: a class in progress (a challenge open with 20 finished
  entries, as class_load.py), then ``--sessions`` students (websocket clients speaking
  Streamlit's protocol, benchmarks/class_load.py's ``live`` pattern: open a page, follow its
  live fragments, next page every 10 s) for 45 s; page-ready p50/p95 for each count, on 1 and
  on 2 replicas, and the servers' CPU seconds per full rerun and resident memory per session
  (from which docs/classroom.md's students-per-core table is made).

Last measured (2026-12-06, 2 vCPUs, no GPU; RESULTS.md "A course on replicas"): 300 joins in
59.8 s against 2 replicas, all admitted, slowest 0.06 s; page p95 with 120 / 180 students:
0.89 / 4.68 s on 1 replica, 0.12 / 0.10 s on 2.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from class_load import Session, percentile, prepare  # noqa: E402
from load_test import cpu_seconds, pids_matching  # noqa: E402

from e2e import free_port  # noqa: E402

TOKEN = "class-replicas-benchmark-token"


def start(runs: Path, replicas: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "RESNET_WORKBENCH_TEACHER_TOKEN": TOKEN, "RESNET_WORKBENCH_DATA": str(runs / "data"), "RESNET_WORKBENCH_JOINS_PER_MINUTE": "10000",
           "RESNET_WORKBENCH_WARM_WORKER": "0", "RESNET_WORKBENCH_REFRESH_S": "2"}
    process = subprocess.Popen([sys.executable, "-m", "resnet_core", "class-server", "--replicas", str(replicas),
                                "--port", str(port), "--runs-dir", str(runs)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        if "Teacher link" in line:
            return process, f"http://127.0.0.1:{port}"
    raise RuntimeError("the class server did not start")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(60)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def join_once(url: str, name: str) -> tuple[str, float, str]:
    """One POST /join: ("admitted" | "retry" | "error: ...", seconds, the session cookie or "")."""
    opener = urllib.request.build_opener(NoRedirect)
    data = urllib.parse.urlencode({"name": name}).encode()
    request = urllib.request.Request(f"{url}/join", data=data, headers={"Origin": url})
    started = time.monotonic()
    try:
        opener.open(request, timeout=30)
        return "error: no redirect", time.monotonic() - started, ""
    except urllib.error.HTTPError as e:
        took = time.monotonic() - started
        if e.code == 303 and "workbench_session=" in (e.headers.get("set-cookie") or ""):
            return "admitted", took, e.headers["set-cookie"].split(";")[0]
        if e.code == 429 and e.headers.get("retry-after"):
            return "retry", took, ""
        return f"error: HTTP {e.code}", took, ""
    except OSError as e:
        return f"error: {e}", time.monotonic() - started, ""


def join_storm(url: str, joins: int, seconds: float = 60.0) -> dict:
    started = time.monotonic()

    def attempt(i: int):
        time.sleep(max(0.0, started + i * seconds / joins - time.monotonic()))
        return join_once(url, f"Storm {i:03d}")

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        results = list(pool.map(attempt, range(joins)))
    kinds = [k for k, _t, _c in results]
    took = [t for _k, t, _c in results]
    return {"joins": joins, "within_s": round(time.monotonic() - started, 1),
            "admitted": kinds.count("admitted"), "told_to_retry": kinds.count("retry"),
            "errors": sorted({k for k in kinds if k.startswith("error")}),
            "slowest_s": round(max(took), 2), "p95_s": round(percentile(took, 0.95), 3)}


def students(url: str, count: int, seconds: float = 45.0) -> dict:
    cookies = [join_once(url, f"Student {i + 1}")[2] for i in range(count)]
    assert all(cookies), "a join was refused"
    servers = pids_matching("streamlit", "run", "app.py")
    rss0 = sum(rss(pid) for pid in servers)
    cpu0 = cpu_seconds(servers)
    end = time.monotonic() + seconds

    async def drive():
        sessions = [Session(url, c, i) for i, c in enumerate(cookies)]
        await asyncio.gather(*(s.run("live", lambda: time.monotonic() > end, 2.0) for s in sessions))
        return sessions

    done = asyncio.run(drive())
    cpu = cpu_seconds(servers) - cpu0
    full = [t for s in done for _p, t in s.full]
    fragments = [t for s in done for t in s.fragment]
    return {"sessions": count, "page_p50_s": round(percentile(full, 0.5), 3),
            "page_p95_s": round(percentile(full, 0.95), 3), "full_reruns": len(full),
            "fragment_p95_s": round(percentile(fragments, 0.95) or 0, 3), "fragment_reruns": len(fragments),
            "server_cpu_s_per_rerun": round(cpu / max(1, len(full) + len(fragments)), 4),
            "server_cpu_share": round(cpu / seconds, 2),
            "rss_mb_per_session": round((sum(rss(pid) for pid in servers) - rss0) / 2**20 / count, 1),
            "errors": sorted({e for s in done for e in s.errors})[:3]}


def rss(pid: int) -> int:
    try:
        return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1)) * 1024
    except (OSError, AttributeError):
        return 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--joins", type=int, default=300)
    p.add_argument("--sessions", type=int, nargs="+", default=[30, 60, 90])
    p.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    args = p.parse_args()
    if shutil.which("haproxy") is None:
        sys.exit("needs HAProxy: apt-get install haproxy")
    work = Path(tempfile.mkdtemp(prefix="class-replicas-"))
    if args.joins:
        server, url = start(work / "storm", 2)
        try:
            print(json.dumps({"part": "join storm", "replicas": 2, **join_storm(url, args.joins)}), flush=True)
        finally:
            stop(server)
    from resnet_core import TrainConfig, train

    template = train(TrainConfig(dataset="digits", epochs=2, probe_snapshots=0,
                                 runs_dir=str(work / "template")), progress=False).dir
    for replicas in args.replicas:
        for count in args.sessions:
            runs = work / f"r{replicas}-s{count}"
            prepare(runs, template)
            server, url = start(runs, replicas)
            try:
                print(json.dumps({"part": "students", "replicas": replicas, **students(url, count)}), flush=True)
            finally:
                stop(server)


if __name__ == "__main__":
    main()
