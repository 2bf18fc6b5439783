"""A class on one server: N student sessions over Streamlit's own websocket protocol, while a run trains.

    python benchmarks/class_load.py [--sessions 10 30 60] [--epochs 60] [--pattern full|live]

No browsers: each simulated student is a websocket client that speaks Streamlit's protocol
with the protobuf messages the streamlit package ships (BackMsg.rerun_script out,
ForwardMsg in, until script_finished), carrying a real student session cookie from POST
/join. It exercises the real server exactly as a browser tab's connection does, minus the
rendering. One real ``streamlit run app.py`` in class mode on 127.0.0.1; loopback only.

Patterns (what each session does):
- ``full``: the load the issue's baseline used: a full page rerun every 2 s, cycling
  home -> challenge -> runs -> lessons.
- ``live``: a person in class: open a page (full rerun), follow its live fragments at the
  refresh interval the server asks for (``auto_rerun``), move to the next page every 10 s.

The class is in progress: a challenge is open with 20 finished entries, and meanwhile
``python -m resnet_core train --dataset digits``, one more entry, trains in the runs folder;
the same command runs first with the server up and no sessions, as the reference
(images/s in the same invocation). The sessions keep going until the loaded run ends, so
its images/s is measured entirely under load. Reports page-ready p50/p95 (full reruns;
fragment reruns separately), server CPU seconds per session-minute, this client's own CPU
(it shares the 2 cores), training images/s against the reference. Figures: RESULTS.md.

Last measured (2026-11-28, 2 vCPUs; RESULTS.md "A class of 30"): full reruns, 30 sessions:
rerun p50/p95 0.025/0.050 s, training at 0.76x; live pattern, 30 sessions: page 0.42/0.76 s,
training at 0.93x (0.83x in another invocation).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from load_test import cpu_seconds, images_per_sec, pids_matching, status_state, train_command  # noqa: E402

from e2e import streamlit_server  # noqa: E402

PAGES = ["", "challenge", "runs", "lessons"]  # a student's pages ("" is home)
TOKEN = "class-load-benchmark-token"


def join(url: str, name: str) -> str:
    """POST /join as a student; the session cookie (name=value)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    data = urllib.parse.urlencode({"name": name}).encode()
    try:
        opener.open(urllib.request.Request(f"{url}/join", data=data), timeout=30)
    except urllib.error.HTTPError as e:  # the 303 arrives as an "error" without redirects
        return e.headers["set-cookie"].split(";")[0]
    raise RuntimeError("join did not redirect")


class Session:
    """One student's connection: sends reruns, reads ForwardMsgs until the run finishes."""

    def __init__(self, url: str, cookie: str, index: int) -> None:
        self.url, self.cookie, self.index = url, cookie, index
        self.full: list[tuple[str, float]] = []  # (page, seconds to script_finished)
        self.fragment: list[float] = []
        self.errors: list[str] = []
        self.auto_reruns: dict[str, float] = {}  # fragment id -> interval (s)

    async def connect(self):
        import websockets

        host = urllib.parse.urlsplit(self.url).netloc
        self.ws = await websockets.connect(
            f"ws://{host}/_stcore/stream", subprotocols=["streamlit"], max_size=None,
            additional_headers={"Cookie": self.cookie, "Origin": self.url})

    async def rerun(self, page: str, fragment_id: str = "") -> float:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.page_name = page
        msg.rerun_script.query_string = ""
        if fragment_id:
            msg.rerun_script.fragment_id = fragment_id
            msg.rerun_script.is_auto_rerun = True
        else:
            self.auto_reruns = {}
        start = time.monotonic()
        await self.ws.send(msg.SerializeToString())
        while True:
            data = await asyncio.wait_for(self.ws.recv(), timeout=120)
            fwd = ForwardMsg.FromString(data)
            kind = fwd.WhichOneof("type")
            if kind == "auto_rerun":
                self.auto_reruns[fwd.auto_rerun.fragment_id] = fwd.auto_rerun.interval
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                element = fwd.delta.new_element
                if element.WhichOneof("type") == "exception":
                    self.errors.append(f"{page}: {element.exception.message}")
            elif kind == "script_finished":
                status = fwd.script_finished
                if status in (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                    return time.monotonic() - start
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    self.errors.append(f"{page}: compile error")
                    return time.monotonic() - start

    async def run(self, pattern: str, until, refresh: float) -> None:
        await self.connect()
        await asyncio.sleep(self.index * refresh / 30)  # people do not click in lockstep
        n = 0
        while not until():
            page = PAGES[(n + self.index) % len(PAGES)]
            t = await self.rerun(page)
            self.full.append((page or "home", t))
            n += 1
            if pattern == "full":
                await asyncio.sleep(max(0.0, refresh - t))
                continue
            stay = time.monotonic() + 10.0
            while time.monotonic() < stay and not until():
                await asyncio.sleep(refresh)
                for fragment_id in list(self.auto_reruns):
                    self.fragment.append(await self.rerun(page, fragment_id))
        await self.ws.close()


def percentile(values: list[float], q: float) -> float | None:
    values = sorted(values)
    return values[int(q * (len(values) - 1))] if values else None


async def drive(url: str, cookies: list[str], pattern: str, until, refresh: float) -> list[Session]:
    sessions = [Session(url, c, i) for i, c in enumerate(cookies)]
    await asyncio.gather(*(s.run(pattern, until, refresh) for s in sessions))
    return sessions


def prepare(runs: Path, template: Path, entries: int = 20) -> str:
    """A class in progress: an open challenge with ``entries`` finished entries (copies of one
    real run under different owners and learning rates); returns the challenge id."""
    from resnet_core.classroom.classroom import Classroom

    room = Classroom(runs, teacher_token=TOKEN)
    challenge = room.open_challenge("digits", 120)
    for i in range(entries):
        run_dir = runs / f"20260101-0000{i:02d}-digits-resnet20-{i:04x}"
        shutil.copytree(template, run_dir)
        (run_dir / "job.json").write_text(json.dumps(
            {"owner": {"id": f"s-entry{i}", "name": f"Entry {i + 1}"}, "challenge": challenge.id}))
        config = json.loads((run_dir / "config.json").read_text())
        (run_dir / "config.json").write_text(json.dumps({**config, "lr": round(0.02 * (i + 1), 2)}))
    return challenge.id


def enter(runs: Path, challenge_id: str) -> None:
    """Make the CLI's run a challenge entry (the app would have written this job.json)."""
    while True:
        fresh = [p for p in runs.iterdir() if p.is_dir() and p.name.startswith("2026") and
                 not (p / "job.json").exists()]
        if fresh:
            (fresh[0] / "job.json").write_text(json.dumps(
                {"owner": {"id": "s-live", "name": "Live entry"}, "challenge": challenge_id}))
            return
        time.sleep(0.05)


def measure(sessions: int, epochs: int, pattern: str, workdir: Path, template: Path,
            refresh: float = 2.0) -> dict:
    runs, reference = workdir / f"runs-{sessions}-{pattern}", workdir / f"reference-{sessions}-{pattern}"
    challenge_id = prepare(runs, template)
    env = {"RESNET_WORKBENCH_MODE": "class", "RESNET_WORKBENCH_RUNS": str(runs),
           "RESNET_WORKBENCH_TEACHER_TOKEN": TOKEN, "RESNET_WORKBENCH_DATA": str(workdir / "data"),
           "RESNET_WORKBENCH_REFRESH_S": str(refresh)}
    out: dict = {"sessions": sessions, "pattern": pattern, "epochs": epochs}
    with streamlit_server(env) as url:
        port = url.rsplit(":", 1)[1]
        server = pids_matching("streamlit", "run", "app.py", port)
        cookies = [join(url, f"Student {i + 1}") for i in range(sessions)]
        # Reference: the same training, the server up, nobody connected; once before the
        # loaded run and once after it (this machine's speed drifts by 10-20% from minute to
        # minute; the ratio is to the mean of the two).
        def reference_run() -> float:
            before = set(reference.iterdir()) if reference.exists() else set()
            subprocess.run(train_command(reference, epochs), check=True, capture_output=True)
            (ref_dir,) = [p for p in reference.iterdir() if p.is_dir() and p not in before]
            return images_per_sec(ref_dir)

        references = [reference_run()]
        # Under load: the sessions connect first, then the run starts; they stop when it ends.
        trainer = subprocess.Popen(train_command(runs, epochs), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        enter(runs, challenge_id)
        cpu0 = {"server": cpu_seconds(server), "client": cpu_seconds([os.getpid()])}
        wall0 = time.monotonic()
        done = asyncio.run(drive(url, cookies, pattern, lambda: trainer.poll() is not None, refresh))
        wall = time.monotonic() - wall0
        cpu1 = {"server": cpu_seconds(server), "client": cpu_seconds([os.getpid()])}
        if trainer.returncode != 0:
            raise RuntimeError(f"training failed: {trainer.stderr.read()[-2000:]}")
        references.append(reference_run())
    out["reference_images_per_sec_each"] = references
    out["reference_images_per_sec"] = statistics.mean(references)
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir() and p.name.startswith("2026") and
                  json.loads((p / "job.json").read_text())["owner"]["id"] == "s-live"]
    full = [t for s in done for _, t in s.full]
    fragment = [t for s in done for t in s.fragment]
    by_page = {p or "home": [t for s in done for q, t in s.full if q == (p or "home")] for p in PAGES}
    out.update({
        "full_reruns": len(full),
        "ready_p50_s": percentile(full, 0.5), "ready_p95_s": percentile(full, 0.95),
        "ready_p50_by_page_s": {p: statistics.median(t) for p, t in by_page.items() if t},
        "fragment_reruns": len(fragment),
        "fragment_p50_s": percentile(fragment, 0.5), "fragment_p95_s": percentile(fragment, 0.95),
        "errors": sorted({e for s in done for e in s.errors})[:5],
        "wall_s": wall,
        "server_cpu_s_per_session_minute": (cpu1["server"] - cpu0["server"]) / (sessions * wall / 60),
        "server_cpu_share": (cpu1["server"] - cpu0["server"]) / wall,
        "client_cpu_share": (cpu1["client"] - cpu0["client"]) / wall,
        "loaded_images_per_sec": images_per_sec(run_dir),
        "final_state": status_state(run_dir),
    })
    out["images_per_sec_ratio"] = out["loaded_images_per_sec"] / out["reference_images_per_sec"]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, nargs="+", default=[10, 30, 60])
    p.add_argument("--epochs", type=int, default=60, help="the training run's length (digits)")
    p.add_argument("--pattern", choices=["full", "live"], nargs="+", default=["full", "live"])
    args = p.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="class-load-"))
    from resnet_core import TrainConfig, train

    template = train(TrainConfig(dataset="digits", epochs=2, probe_snapshots=0,
                                 runs_dir=str(workdir / "template")), progress=False).dir
    for pattern in args.pattern:
        for n in args.sessions:
            print(json.dumps(measure(n, args.epochs, pattern, workdir, template), default=str), flush=True)


if __name__ == "__main__":
    main()
