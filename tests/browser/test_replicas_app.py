"""Issue 40: a class on three app processes behind real HAProxy, started as a teacher starts
it (`python -m resnet_core class-server --replicas 3`), driven by Chromium on loopback.

Two students land on different replicas and see each other on their class's leaderboard; a
student of a second class (section B, joined by its link) sees only B's, and A's students
never see B's; the teacher's lesson lock set through one replica
applies to a student on another within 2 s; the queue-owning replica is killed (SIGKILL) while
a run trains: another owns the queue within 10 s, the run resumes from its checkpoint and
completes, the run queued behind it runs too; the students of the dead replica are sent
elsewhere by HAProxy and keep their names; Origin checks and the class-code limit hold
across the replicas. Past a replica's session limit a student gets a 429 page that retries
by itself, never a stall."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from resnet_core import TrainConfig
from resnet_core.classroom.access import COOKIE
from resnet_core.classroom.classroom import Classroom
from resnet_core.classroom.course import Course
from resnet_core.classroom.gate import WRONG_CODES_PER_MINUTE
from resnet_core.classroom.lessons import LESSONS
from resnet_core.jobs.manager import LOCK_FILE, JobManager
from resnet_core.runs.folder import read_status
from resnet_core.runs.jobfile import Owner

from e2e import ROOT, choose, chromium, free_port, join, join_class
from helpers import TOKEN, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("haproxy") is None and not os.environ.get("REQUIRE_HAPROXY"),
                                 reason="HAProxy is not installed (apt-get install haproxy)")]


def class_server(runs, replicas: int, *extra: str):
    """The class server as a teacher starts it; its URL once it prints the teacher link."""
    port = free_port()
    env = {**os.environ, "RESNET_WORKBENCH_TEACHER_TOKEN": TOKEN, "RESNET_WORKBENCH_REFRESH_S": "1",
           "RESNET_WORKBENCH_WARM_WORKER": "0"}
    process = subprocess.Popen([sys.executable, "-m", "resnet_core", "class-server", "--replicas", str(replicas),
                                "--port", str(port), "--runs-dir", str(runs), *extra],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    for line in process.stdout:
        if "Teacher link" in line:
            return process, f"http://127.0.0.1:{port}"
        if time.monotonic() > deadline:
            break
    process.kill()
    raise AssertionError(f"the class server did not start: {process.stdout.read()[-2000:]}")


def stop(process) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()


def replica_of(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "RWB_REPLICA")


def status_of(request) -> int:
    try:
        return urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as e:
        return e.code


def owner_pid(runs) -> int:
    return int(re.match(r"pid (\d+)", (runs / LOCK_FILE).read_text()).group(1))


def test_three_replicas_share_one_class_and_survive_the_queue_owners_death(tmp_path):
    runs = tmp_path / "runs"
    Classroom(runs, teacher_token=TOKEN)
    server, url = class_server(runs, 3)
    try:
        with chromium() as browser:
            teacher = browser.new_context(viewport={"width": 1400, "height": 2400}).new_page()
            teacher.goto(f"{url}/?token={TOKEN}")
            teacher.wait_for_selector("[data-testid='stApp']", timeout=60_000)
            students = {}
            for name in ("Ada", "Grace", "Linus"):
                page = browser.new_context(viewport={"width": 1200, "height": 1200}).new_page()
                join(page, url, name)
                page.get_by_text(f"Signed in as {name}").wait_for(timeout=60_000)
                students[name] = page
            where = {name: replica_of(page) for name, page in students.items()}
            assert len(set(where.values())) >= 2, where  # round robin over the replicas
            elsewhere = next(n for n, r in where.items() if r != replica_of(teacher))

            # Two classes, each with its challenge: Cy joins section B by its link. Entries are
            # handed to the queue's owner through the folder; each class's board is its own.
            course = Course(runs, teacher_token=TOKEN)
            course.main.open_challenge("digits", 30)
            course.add_class("Section B").open_challenge("digits", 30)
            cy = browser.new_context(viewport={"width": 1200, "height": 1200}).new_page()
            join_class(cy, url, "Cy", "section-b", "Section B")
            ids = {n: sid for room in course.classes() for sid, n in room.state.roster.items()}
            hand = JobManager(runs, replica=True, warm_worker=False, policy=course)
            entry = dict(dataset="digits", arch="resnet20", epochs=1, runs_dir=str(runs))
            entries = [hand.submit(TrainConfig(seed=i, **entry), owner=Owner(ids[n], n), class_id=c)
                       for i, (n, c) in enumerate((("Ada", "main"), ("Grace", "main"), ("Cy", "section-b")))]
            hand.close()
            wait_for(lambda: all(read_status(runs / r).get("state") == "completed" for r in entries), timeout=180)
            for name, page in ((n, students[n]) for n in ("Ada", "Grace")):
                page.goto(url + "/challenge")
                board = page.get_by_test_id("stTable")
                board.filter(has_text="Grace").filter(has_text="Ada").wait_for(timeout=60_000)
                assert "Cy" not in board.inner_text(), name
            cy.goto(url + "/challenge")
            board = cy.get_by_test_id("stTable")
            board.filter(has_text="Cy").wait_for(timeout=60_000)
            assert "Ada" not in board.inner_text() and "Grace" not in board.inner_text()

            # The lock set through the teacher's replica reaches a student on another.
            teacher.goto(url + "/teacher")
            choose(teacher, "Students see only", re.compile(LESSONS["depth"].title))
            teacher.get_by_role("button", name="Apply the lock").click()
            teacher.get_by_text("Lock applied.").wait_for(timeout=30_000)
            applied = time.monotonic()
            students[elsewhere].goto(url + "/")
            students[elsewhere].get_by_role("heading", name=LESSONS["depth"].title).wait_for(timeout=30_000)
            assert time.monotonic() - applied < 2 + 5  # the lock in 2 s; the page's own load on top
            assert Classroom(runs, teacher_token=TOKEN).state.locked_lesson == "depth"

            # A run and one queued behind it, handed to the queue's owner through the folder.
            hand = JobManager(runs, replica=True, warm_worker=False)
            config = dict(dataset="digits", arch="resnet20", seed=4, runs_dir=str(runs))
            first = hand.submit(TrainConfig(epochs=5, **config), owner=Owner("teacher", "Teacher"), limited=False)
            second = hand.submit(TrainConfig(epochs=1, **config), owner=Owner("teacher", "Teacher"), limited=False)
            hand.close()
            wait_for(lambda: (read_status(runs / first).get("epoch") or 0) >= 1, timeout=120)
            dead = owner_pid(runs)
            os.kill(dead, signal.SIGKILL)
            killed = time.monotonic()
            wait_for(lambda: owner_pid(runs) != dead, timeout=10)
            took_over = time.monotonic() - killed
            wait_for(lambda: read_status(runs / first).get("state") == "completed", timeout=240)
            wait_for(lambda: read_status(runs / second).get("state") == "completed", timeout=120)
            assert read_status(runs / first)["epoch"] == 5

            # Every student keeps their name, wherever HAProxy sends them now: still signed in
            # (not sent to /join), on the lesson the class is locked to, as that name.
            for name, page in students.items():
                page.goto(url + "/")
                page.get_by_role("heading", name=LESSONS["depth"].title).wait_for(timeout=60_000)
                assert "/join" not in page.url
                page.get_by_text(f"Signed in as {name}").wait_for(state="attached", timeout=30_000)
            print(f"took over in {took_over:.1f} s; replicas {where}")

            # The hardening holds across the replicas: a join posted from another site is
            # refused, and wrong class codes count for all the replicas together (no cookie:
            # HAProxy spreads the attempts over them): the one past the limit waits.
            Classroom(runs, teacher_token=TOKEN).set_class_code("right-code-42")

            def post_join(code: str, origin: str) -> int:
                form = urllib.parse.urlencode({"name": "Mallory", "code": code}).encode()
                return status_of(urllib.request.Request(url + "/join", data=form, headers={
                    "Origin": origin, "Content-Type": "application/x-www-form-urlencoded"}))

            assert post_join("right-code-42", "http://evil.example") == 403
            tries = [post_join(f"wrong-code-{i}", url) for i in range(WRONG_CODES_PER_MINUTE + 1)]
            assert tries == [400] * WRONG_CODES_PER_MINUTE + [429], tries
    finally:
        stop(server)


def test_past_a_replicas_session_limit_a_student_is_asked_to_wait_not_stalled(tmp_path):
    runs = tmp_path / "runs"
    room = Classroom(runs, teacher_token=TOKEN)
    _ada, cookie = room.join("Ada")
    _grace, grace_cookie = room.join("Grace")
    server, url = class_server(runs, 1, "--max-sessions", "1")
    try:
        with chromium() as browser:
            first = browser.new_context()
            first.add_cookies([{"name": COOKIE, "value": cookie, "url": url}])
            page = first.new_page()
            page.goto(url + "/")
            page.get_by_text("Signed in as Ada").wait_for(timeout=60_000)  # the one session it takes
            request = urllib.request.Request(url + "/", headers={"Accept": "text/html",
                                                                 "Cookie": f"{COOKIE}={grace_cookie}"})
            started = time.monotonic()
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            assert time.monotonic() - started < 10
            assert refused.value.code == 429 and refused.value.headers["Retry-After"] == "5"
            body = refused.value.read().decode()
            assert "The class is full right now" in body and 'http-equiv="refresh"' in body
            page.close()  # Ada leaves: her session ends, and Grace's next try gets in
            wait_for(lambda: status_of(request) == 200, timeout=30)
    finally:
        stop(server)
