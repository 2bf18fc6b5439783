"""Helpers for end-to-end tests: a real `streamlit run app.py` and headless Debian Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", ROOT / "tests" / "artifacts"))  # screenshots
ARTIFACTS.mkdir(parents=True, exist_ok=True)
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(env: dict | None = None, timeout: float = 60.0, *, args: tuple = (),
                     with_process: bool = False):
    """Start the app exactly as the README does; yield its URL (and, ``with_process``, the
    Popen, whose stdout is the server's console); stop it afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--browser.gatherUsageStats", "false", *args]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.poll() is not None else ""
                raise RuntimeError(f"streamlit did not start: {out[-2000:]}")
            time.sleep(0.3)
        yield (url, proc) if with_process else url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def chromium():
    """Headless Debian Chromium (skipped where it is missing, unless REQUIRE_BROWSER)."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set but {CHROMIUM} is missing")
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def browser_page(width: int = 1400, height: int = 1000):
    with chromium() as browser:
        yield browser.new_page(viewport={"width": width, "height": height})


def wait_for_app(page, url: str, text: str) -> None:
    """Open ``url`` and wait until ``text`` is on the page (the script has rendered that far)."""
    page.goto(url)
    page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
    page.get_by_text(text).first.wait_for(timeout=60_000)


def choose(page, box: str, option, *, tries: int = 4) -> None:
    """Pick ``option`` (a name or a pattern) in the select box labelled ``box``, as a person does.

    A rerun that lands between the click and the list drawing closes the list again (a page that
    refreshes itself every second does that), so the box is opened again until its option shows.
    """
    select = page.get_by_test_id("stSelectbox").filter(has_text=box)
    item = page.get_by_role("option", name=option, exact=isinstance(option, str))
    for attempt in range(tries):
        select.click()
        try:
            item.wait_for(timeout=5_000)
            item.click(timeout=5_000)
            return
        except Exception:
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")


def shows(page, text: str, seconds: float) -> bool:
    """Whether ``text`` appears on the page within ``seconds``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.get_by_text(text).first.wait_for(timeout=seconds * 1000)
        return True
    except PlaywrightTimeout:
        return False


def wait_for_runs_text(page, text: str, runs: Path, timeout_s: float = 240) -> None:
    """Wait for ``text`` on the page; if it does not come, fail with what the runs' folders say
    (each run's state and step, the last lines of its log) and what the page shows, so that a
    training that stalled reads apart from a page that stopped following finished runs."""
    if shows(page, text, timeout_s):
        return
    from resnet_core.errors import RunError
    from resnet_core.runs.folder import LOG_FILE, STATUS_FILE, read_status

    lines = []
    for path in sorted(runs.rglob(STATUS_FILE)):
        log = path.parent / LOG_FILE
        tail = log.read_text(errors="replace").splitlines()[-3:] if log.exists() else []
        try:
            s = read_status(path.parent)
        except RunError as e:
            lines.append(f"{path.parent.name}: {e} log {tail}")
            continue
        lines.append(f"{path.parent.name}: {s.get('state')} step {s.get('step')} "
                     f"pid {s.get('pid')} updated {s.get('updated_at')} log {tail}")
    shown = page.locator("[data-testid='stMain']").inner_text()[-1500:]
    pytest.fail(f"{text!r} not shown in {timeout_s:.0f} s; runs: {lines or 'none'}; page ends: {shown}")


def class_env(runs: Path, **extra) -> dict:
    """A class server's environment on ``runs`` (pages refresh every second)."""
    return {"RESNET_WORKBENCH_MODE": "class", "RESNET_WORKBENCH_RUNS": str(runs),
            "RESNET_WORKBENCH_REFRESH_S": "1", **extra}


def join(page, url: str, name: str) -> None:
    """Join the class at ``url`` as ``name`` through the join form, as a student does."""
    page.goto(url)
    page.wait_for_selector("input[name=name]", timeout=60_000)
    page.fill("input[name=name]", name)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid='stApp']", timeout=60_000)


def join_class(page, url: str, name: str, class_id: str, class_name: str) -> None:
    """Join another class than the first by its link (/join?class=ID), whose page names it, and
    wait until signed in as ``name``."""
    page.goto(f"{url}/join?class={class_id}")
    page.get_by_role("heading", name=f"Join {class_name}").wait_for(timeout=30_000)
    page.fill("input[name=name]", name)
    page.click("button[type=submit]")
    page.get_by_text(f"Signed in as {name}").wait_for(timeout=60_000)


WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SERIOUS = ("serious", "critical")


def audit(page) -> list[dict]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now
    (axe-core comes inside the axe-playwright-python wheel: offline)."""
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA},
                                      "resultTypes": ["violations"]})
    return [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"]),
             "first": v["nodes"][0]["target"], "help": v["help"]}
            for v in result.response["violations"] if v["impact"] in SERIOUS]
