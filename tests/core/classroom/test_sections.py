"""Several classes on one server (issue 40, item 1) and their teachers (item 2): each class its
own code, roster, limits, challenge and leaderboard; a student of one never acts in or sees
another; co-teachers' and assistants' links, revocable; runs record their class."""

from __future__ import annotations

import json

import pytest

from resnet_core import TrainConfig
from resnet_core.classroom.access import NOBODY, AccessDenied
from resnet_core.classroom.challenge import ClassLimits
from resnet_core.classroom.course import Course
from resnet_core.classroom.roster import WrongClassCode
from resnet_core.errors import RunError

from helpers import TEACHER


@pytest.fixture
def course(bench):
    return bench.course


def test_a_second_class_has_its_own_code_roster_and_students_who_act_only_in_it(bench, course):
    teacher = bench.session(TEACHER)
    b = teacher.add_class("Section B")
    assert b.id == "section-b" and b.name == "Section B"
    assert [c.id for c in teacher.classes()] == ["main", "section-b"]
    bench.session(TEACHER, "section-b").set_class_code("beta-code-1")
    ada, ada_cookie = course.main.join("Ada")  # the first class has no code
    with pytest.raises(WrongClassCode):
        b.join("Bob", "wrong-code")
    bob, bob_cookie = b.join("Bob", "beta-code-1")
    # One name per class: "Ada" is free in Section B, and a different student there.
    ada_b, _ = b.join("Ada", "beta-code-1")
    assert ada_b.id != ada.id and ada_b.class_id == "section-b"
    # Each cookie is its own class's: the student's session acts in it whatever is asked.
    assert bench.session_for_cookie(bob_cookie, "main").class_id == "section-b"
    assert bench.session_for_cookie(ada_cookie, "section-b").class_id == "main"
    assert course.user_from_cookie(bob_cookie).name == "Bob"
    assert course.main.user_from_cookie(bob_cookie) is None  # not a member of the first class
    # A reset of Section B signs its students out, and nobody else.
    bench.session(TEACHER, "section-b").reset_class()
    assert course.user_from_cookie(bob_cookie) is None
    assert course.user_from_cookie(ada_cookie).name == "Ada"


def test_each_class_has_its_own_challenge_and_leaderboard_and_its_runs_record_it(bench, course):
    teacher = bench.session(TEACHER)
    teacher.add_class("Section B")
    in_b = bench.session(TEACHER, "section-b")
    teacher.open_challenge("digits", 10, limits=ClassLimits(max_epochs=2))
    ada, ada_cookie = course.main.join("Ada")
    bob, bob_cookie = course.get("section-b").join("Bob")
    ada_s, bob_s = bench.session_for_cookie(ada_cookie), bench.session_for_cookie(bob_cookie)
    ada_run = ada_s.submit(TrainConfig(epochs=1))
    # Section B has no challenge open: the first class's does not bound (or admit) its students.
    with pytest.raises(RunError, match="none is open"):
        bob_s.submit(TrainConfig(epochs=1))
    in_b.open_challenge("digits", 10, limits=ClassLimits(max_epochs=1))
    with pytest.raises(Exception, match="epochs"):
        bob_s.submit(TrainConfig(epochs=2))  # Section B's own limits
    bob_run = bob_s.submit(TrainConfig(epochs=1))
    job = json.loads((bench.runs_dir / bob_run / "job.json").read_text())
    assert job["class"] == "section-b" and job["challenge"] == course.get("section-b").state.challenge.id
    assert bench.store.get(ada_run).job.class_id == "main"
    # Who sees which run: a student their class's; the server's teacher every run.
    runs = {r.id: r for r in bench.store.runs()}
    assert ada_s.sees_run(runs[ada_run]) and not ada_s.sees_run(runs[bob_run])
    assert bob_s.sees_run(runs[bob_run]) and not bob_s.sees_run(runs[ada_run])
    assert teacher.sees_run(runs[ada_run]) and teacher.sees_run(runs[bob_run])
    # A student of one class cannot stop another's run, or take its report, even knowing its id.
    with pytest.raises(AccessDenied):
        bob_s.stop(ada_run)
    with pytest.raises(AccessDenied, match="belongs to another class"):
        bob_s.report(ada_run)
    # The leaderboards (queued entries too): each challenge's entries are its class's runs only.
    entries_a = course.main.entries(bench.store)
    entries_b = course.get("section-b").entries(bench.store)
    assert [e["run_id"] for e in entries_a] == [ada_run]
    assert [e["run_id"] for e in entries_b] == [bob_run]


def test_a_class_added_in_one_process_is_served_by_another(tmp_path, bench):
    bench.session(TEACHER).add_class("Section C")
    other = Course(bench.runs_dir, teacher_token="tok")  # another replica on the folder
    assert [c.name for c in other.classes()] == ["Class", "Section C"]
    bob, cookie = other.get("section-c").join("Bob")
    assert bench.course.user_from_cookie(cookie).id == bob.id  # one secret, one roster file
    with pytest.raises(RunError, match="no class 'nope' on this server; its classes are main, section-c"):
        bench.course.get("nope")
    with pytest.raises(RunError, match="named 'section c' already"):
        bench.session(TEACHER).add_class("section c")


def test_a_co_teachers_link_teaches_one_class_and_revoking_it_ends_their_sessions(bench, course):
    teacher = bench.session(TEACHER)
    teacher.add_class("Section B")
    token = bench.session(TEACHER, "section-b").add_staff("teacher", "Grace")
    assert token not in (course.get("section-b").path.read_text())  # only its hash is kept
    cookie = course.teacher_cookie(token)
    grace = bench.session_for_cookie(cookie, "main")  # asks for the first class: gets hers
    assert grace.user.name == "Grace" and grace.user.is_teacher and grace.class_id == "section-b"
    grace.set_limits(ClassLimits(max_epochs=3))
    assert course.get("section-b").state.limits.max_epochs == 3
    assert course.main.state.limits.max_epochs != 3
    assert [c.id for c in grace.classes()] == ["section-b"]
    with pytest.raises(AccessDenied, match="only the teacher who runs this server"):
        grace.add_class("Section D")
    with pytest.raises(AccessDenied, match="only the teacher who runs this server"):
        grace.add_staff("assistant", "Tom")
    [link] = bench.session(TEACHER, "section-b").staff()
    assert (link["name"], link["role"]) == ("Grace", "teacher")
    bench.session(TEACHER, "section-b").revoke_staff(link["link"])
    assert course.user_from_cookie(cookie) is None  # at once, on every replica (class.json)
    assert course.teacher_cookie(token) is None
    assert bench.session_for_cookie(cookie).user == NOBODY
    changes = [c["action"] for c in bench.session(TEACHER, "section-b").class_actions()]
    assert {"invite a co-teacher", "change the limits", "revoke a link"} <= set(changes)


def test_an_assistant_stops_runs_and_reveals_but_changes_nothing_else(bench, course):
    in_b = bench.session(TEACHER, bench.session(TEACHER).add_class("Section B").id)
    in_b.open_challenge("digits", 10)
    bob, bob_cookie = course.get("section-b").join("Bob")
    ada, ada_cookie = course.main.join("Ada")
    bench.session(TEACHER).open_challenge("digits", 10)
    bob_run = bench.session_for_cookie(bob_cookie).submit(TrainConfig(epochs=1))
    ada_run = bench.session_for_cookie(ada_cookie).submit(TrainConfig(epochs=1))
    tom = bench.session_for_cookie(course.teacher_cookie(in_b.add_staff("assistant", "Tom")))
    assert tom.user.role == "assistant" and not tom.user.is_teacher
    for refused in (lambda: tom.set_limits(ClassLimits()), tom.reset_class, lambda: tom.set_class_code("abcdefgh"),
                    lambda: tom.open_challenge("digits", 5), lambda: tom.remove_student(bob.id),
                    lambda: tom.gradebook(), lambda: tom.submit(TrainConfig(epochs=1), processes=2)):
        with pytest.raises(AccessDenied):
            refused()
    with pytest.raises(AccessDenied):
        tom.stop(ada_run)  # another class's student
    with pytest.raises(AccessDenied):
        tom.delete(bob_run)  # an assistant stops; deleting is the teachers'
    assert tom.may_control(bob_run, "stop") and not tom.may_control(bob_run, "delete")
    tom.stop(bob_run)
    assert bench.store.get(bob_run).job.held_by.name == "Tom"  # held: only a teacher resumes it
    tom.close_challenge(reveal=True)
    assert course.get("section-b").state.challenge.revealed
    assert course.main.state.challenge.is_open()  # the other class's challenge is untouched
    last = tom.class_actions()[0]
    assert (last["who"], last["role"], last["action"]) == ("Tom", "assistant", "close the challenge")


def test_each_class_has_its_own_gradebook_and_canvas_reads_its_name_as_the_section(bench, course):
    import csv
    import io

    b = course.get(bench.session(TEACHER).add_class("Section B").id)
    course.main.join("Ada")
    b.join("Bob")
    rows = list(csv.DictReader(io.StringIO(bench.session(TEACHER, "section-b").gradebook("canvas"))))
    assert [(r["Student"], r["Section"]) for r in rows] == [("Points Possible", ""), ("Bob", "Section B")]
    first = list(csv.DictReader(io.StringIO(bench.session(TEACHER).gradebook("csv"))))
    assert [r["name"] for r in first] == ["Ada"]


def test_every_change_the_front_door_records_is_a_known_action_shown_in_the_readers_language():
    """The change log's actions are ACTIONS (marked for the catalog, shown translated on the
    Teacher page): each action string workbench.Session records is one of them."""
    import ast
    import inspect

    from resnet_core import workbench
    from resnet_core.classroom.actions import ACTIONS
    from resnet_core.i18n import _, speaking

    recorded = set()
    for node in ast.walk(ast.parse(inspect.getsource(workbench))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            args = {"_change": node.args[:1], "record": node.args[2:3]}.get(node.func.attr, [])
            for arg in args:
                if isinstance(arg, ast.Name):  # _change passing its own argument on
                    continue
                for text in ([arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]):
                    assert isinstance(text, ast.Constant), ast.unparse(arg)
                    recorded.add(text.value)
    assert len(recorded) >= 12 and recorded <= set(ACTIONS)
    with speaking("zh-CN"):
        assert all(_(a) != a for a in ACTIONS)
