"""Issue 40: one class served by several processes (app replicas) on one runs folder. Each
change is made on the newest class.json under the folder's lock: none is lost, and what one
process sets the others read at once. Real processes, started as a replica is."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from resnet_core.classroom.classroom import Classroom
from resnet_core.classroom.lessons import LESSONS

JOIN_MANY = """
import sys
from resnet_core.classroom.classroom import Classroom
room = Classroom(sys.argv[1], teacher_token="tok")
print("ready", flush=True)
sys.stdin.readline()  # all start together
for i in range(int(sys.argv[3])):
    room.join(f"{sys.argv[2]} {i}")
print(len(room.state.roster), flush=True)
"""


def start(script: str, *args: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def test_three_processes_joining_at_once_lose_no_name(tmp_path):
    runs = tmp_path / "runs"
    replicas = [start(JOIN_MANY, runs, f"Student {letter}", 25) for letter in "ABC"]
    for p in replicas:  # go
        p.stdin.write("\n")
        p.stdin.flush()
    for p in replicas:
        assert p.wait(timeout=120) == 0
    roster = Classroom(runs, teacher_token="tok").state.roster
    assert len(roster) == 75 and len(set(roster.values())) == 75
    # The cookie key is one for all: a cookie signed by one process is read by another.
    secrets = {(runs / ".class" / "secret").read_text()}
    assert len(secrets) == 1


def test_what_one_process_sets_another_reads_at_once(tmp_path):
    runs = tmp_path / "runs"
    here = Classroom(runs, teacher_token="tok")
    ada, cookie = here.join("Ada")
    there = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        from resnet_core.classroom.classroom import Classroom
        room = Classroom({str(runs)!r}, teacher_token="tok")
        assert room.user_from_cookie({cookie!r}).name == "Ada"  # signed here, read there
        room.lock_lesson("depth")
        room.join("Grace")
        """)], capture_output=True, text=True, timeout=120)
    assert there.returncode == 0, there.stderr
    assert here.state.locked_lesson == "depth"  # no restart, no reload by hand
    assert sorted(here.state.roster.values()) == ["Ada", "Grace"]
    here.vote(ada.id, LESSONS["depth"], 1)  # a change here keeps the other process's changes
    again = Classroom(runs, teacher_token="tok").state
    assert again.locked_lesson == "depth" and again.votes == {"depth": {ada.id: 1}}
