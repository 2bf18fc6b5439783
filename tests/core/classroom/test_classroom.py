"""The class: roster, limits, challenge checks, leaderboard, and the job manager's use of them."""

import json
import shutil
import threading

import pytest

from resnet_core import TrainConfig
from resnet_core.classroom.access import LESSONS, AccessDenied, User
from resnet_core.classroom.challenge import ClassLimits, config_changes, leaderboard
from resnet_core.classroom.classroom import Classroom
from resnet_core.classroom.lessons import LESSONS as LESSON_TABLE
from resnet_core.classroom.roster import WrongClassCode, name_key, new_class_code
from resnet_core.errors import ConfigError, RunError
from resnet_core.jobs.manager import JobManager
from resnet_core.jobs.queue import FairQueue

from helpers import TEACHER, wait_for


@pytest.fixture
def paused(bench):
    return bench.jobs


def test_join_gives_a_cookie_the_classroom_reads_back(room):
    user, cookie = room.join("  Ada   Lovelace ")
    assert user.name == "Ada Lovelace" and user.role == "student"
    assert room.user_from_cookie(cookie) == user
    assert room.user_from_cookie(room.teacher_cookie("tok")).is_teacher
    assert room.teacher_cookie("wrong") is None


def test_names_are_unique_and_checked(room):
    room.join("Ada")
    with pytest.raises(ConfigError, match="taken"):
        room.join("ada")
    with pytest.raises(ConfigError, match="reserved"):
        room.join("Teacher")
    with pytest.raises(ConfigError, match="1 to 32 letters"):
        room.join("<script>")


def test_class_json_and_the_cookie_key_are_the_servers_users_alone(room):
    """class.json holds the class code (it was world-readable); secret signs the cookies."""
    import stat

    room.set_class_code("owl-tree-77")
    for name in ("class.json", "secret"):
        assert stat.S_IMODE((room.dir / name).stat().st_mode) == 0o600, name


def test_class_code(bench, room):
    with pytest.raises(AccessDenied):
        bench.session(User("s", "s", "student")).set_class_code("x")
    with pytest.raises(ConfigError, match="at least 8 characters"):
        room.set_class_code("1234")  # a 4-digit code fell in 11 s
    room.set_class_code("owl-tree-7")
    with pytest.raises(WrongClassCode, match="class code"):
        room.join("Ada", "cat")
    assert room.join("Ada", "owl-tree-7")[0].name == "Ada"
    code = new_class_code()
    assert len(code) == 10 and not set(code) & set("0o1il")


@pytest.mark.parametrize("name", ["Τeacher", "ＴＥＡＣＨＥＲ", "you", "Lessons", "ＹＯＵ", "n0body",
                                  "Teacher.", "T-eacher", "T eacher", "Not-Joined"])
def test_role_and_owner_words_are_reserved_whatever_they_look_like(room, name):
    with pytest.raises(ConfigError, match="reserved"):
        room.join(name)


@pytest.mark.parametrize("look_alike", ["Аlice", "ALICE", "A1ice", "Ａｌｉｃｅ", " alice "])
def test_a_look_alike_of_a_joined_name_is_taken(room, look_alike):
    room.join("Alice")
    with pytest.raises(ConfigError, match="taken"):
        room.join(look_alike)  # Cyrillic А, a digit one, full-width letters
    assert name_key("José") != name_key("Jose") and name_key("Bob") != name_key("Rob")


def test_a_rejoin_code_gets_a_student_back_to_their_name_once(bench, room):
    ada, _ = room.join("Ada")
    code = bench.session(ada).rejoin_code()
    with pytest.raises(ConfigError, match="wrong rejoin code"):
        room.join("Ada", rejoin="AAAA-BBBB-CCCC")
    again, cookie = room.join("ada", rejoin=code.lower())
    assert again.id == ada.id and room.user_from_cookie(cookie) == ada  # the same student: their runs
    with pytest.raises(ConfigError, match="wrong rejoin code"):
        room.join("Ada", rejoin=code)  # used up
    bob, _ = room.join("Bob")
    with pytest.raises(AccessDenied, match="only the teacher"):
        bench.session(bob).rejoin_code(ada.id)
    assert room.join("Ada", rejoin=bench.session(TEACHER).rejoin_code(ada.id))[0].id == ada.id


def test_a_students_rejoin_code_is_minted_once_until_used_or_replaced(bench, room):
    """Issue 36, defect 3: every view of the sign-out page minted a new code, voiding the one
    the student had just written down."""
    ada, _ = room.join("Ada")
    own = bench.session(ada)
    code = own.rejoin_code()
    assert own.rejoin_code() == code  # a reload of the sign-out page
    assert Classroom(room.dir.parent, teacher_token="tok").rejoin_code(ada.id) == code  # a restart
    replaced = bench.session(TEACHER).rejoin_code(ada.id)  # the teacher issues another
    assert replaced != code and own.rejoin_code() == replaced
    with pytest.raises(ConfigError, match="wrong rejoin code"):
        room.join("Ada", rejoin=code)
    assert room.join("Ada", rejoin=replaced)[0].id == ada.id
    assert own.rejoin_code() not in (code, replaced)  # used up: the next view mints anew


def test_the_teacher_removes_a_name_and_it_is_free_again(bench, room):
    ada, cookie = room.join("Ada")
    with pytest.raises(AccessDenied, match="only the teacher"):
        bench.session(ada).remove_student(ada.id)
    bench.session(TEACHER).remove_student(ada.id)
    assert room.user_from_cookie(cookie) is None
    assert room.join("Ada")[0].id != ada.id


def test_state_survives_a_restart_and_reset_logs_students_out(tmp_path, room):
    user, cookie = room.join("Ada")
    room.lock_lesson("depth")
    again = Classroom(tmp_path / "runs", teacher_token="tok")
    assert again.user_from_cookie(cookie) == user and again.state.locked_lesson == "depth"
    again.reset()
    assert again.user_from_cookie(cookie) is None and again.state.locked_lesson is None
    assert (tmp_path / "runs" / ".class" / "secret").stat().st_mode & 0o077 == 0


def test_the_teacher_sees_how_the_class_predicted_before_the_reveal(tmp_path, bench, room):
    """Issue 38, item 16: students' locked-in predictions are counted per choice for the
    teacher; a newer one replaces a student's older one; they survive a restart; a removed
    student's goes with them, and a reset forgets them all."""
    depth = LESSON_TABLE["depth"]
    ada, _ = room.join("Ada")
    bob, _ = room.join("Bob")
    teacher = bench.session(TEACHER)
    assert teacher.tally(depth) == [0] * len(depth.choices)
    bench.session(ada).vote(depth, 1)
    bench.session(bob).vote(depth, 1)
    bench.session(bob).vote(depth, 3)  # changed their mind: one vote each
    teacher.vote(depth, 0)  # the teacher's own guess is not the class's
    assert teacher.tally(depth) == [0, 1, 0, 1]
    assert Classroom(tmp_path / "runs", teacher_token="tok").tally(depth) == teacher.tally(depth)
    with pytest.raises(ConfigError, match="one of the lesson's 4 choices"):
        bench.session(ada).vote(depth, 7)
    with pytest.raises(AccessDenied, match="only the teacher"):
        bench.session(ada).tally(depth)
    teacher.remove_student(bob.id)
    assert sum(teacher.tally(depth)) == 1
    teacher.reset_class()
    assert sum(teacher.tally(depth)) == 0


def test_only_the_teacher_sets_things(bench, room):
    student = bench.session(room.join("Ada")[0])
    for action in (lambda: student.lock_lesson("depth"), student.reset_class,
                   lambda: student.set_limits(ClassLimits()),
                   lambda: student.open_challenge("digits", 10)):
        with pytest.raises(AccessDenied, match="only the teacher"):
            action()
    assert room.state.locked_lesson is None and room.state.challenge is None
    with pytest.raises(ConfigError, match="lesson must be one of"):
        room.lock_lesson("nope")


def test_limits_name_what_is_accepted():
    limits = ClassLimits(architectures=("resnet20",), max_epochs=5, max_batch_size=256)
    with pytest.raises(ConfigError, match="allows the architectures resnet20; got resnet56"):
        limits.check(TrainConfig(arch="resnet56", epochs=1))
    with pytest.raises(ConfigError, match="epochs up to 5; got 6"):
        limits.check(TrainConfig(epochs=6))
    with pytest.raises(ConfigError, match="batch_size up to 256; got 512"):
        limits.check(TrainConfig(epochs=1, batch_size=512))
    with pytest.raises(ConfigError, match="image_size up to 64"):
        limits.check(TrainConfig(epochs=1, image_size=96))
    with pytest.raises(ConfigError, match="architectures must be some of"):
        ClassLimits(architectures=("resnet7",)).validate()


def test_students_submit_only_inside_an_open_challenge(bench, paused, room):
    ada, _ = room.join("Ada")
    with pytest.raises(RunError, match="during a class challenge"):
        bench.session(ada).submit(TrainConfig(epochs=1))
    room.open_challenge("digits", 10, limits=ClassLimits(max_epochs=3))
    with pytest.raises(ConfigError, match="trains on digits"):
        bench.session(ada).submit(TrainConfig(dataset="shapes", epochs=1))
    with pytest.raises(ConfigError, match="epochs up to 3"):
        bench.session(ada).submit(TrainConfig(epochs=4))
    run_id = bench.session(ada).submit(TrainConfig(epochs=2))
    job = json.loads((paused.store.path(run_id) / "job.json").read_text())
    assert job["owner"] == {"id": ada.id, "name": "Ada"} and job["challenge"] == room.state.challenge.id
    with pytest.raises(RunError, match="allows 1 at a time"):  # one active run per student
        bench.session(ada).submit(TrainConfig(epochs=2))
    bench.session(TEACHER).submit(TrainConfig(arch="resnet110", epochs=50))  # not limited
    room.close_challenge()
    bench.session(ada).stop(run_id)
    with pytest.raises(RunError, match="none is open"):
        bench.session(ada).submit(TrainConfig(epochs=2))


def test_the_queue_cap_gives_a_one_line_message(bench, room):
    room.set_limits(ClassLimits(queue_cap=2))
    room.open_challenge("digits", 10)
    users = [room.join(name)[0] for name in ("A", "B", "C")]
    bench.session(users[0]).submit(TrainConfig(epochs=1))
    bench.session(users[1]).submit(TrainConfig(epochs=1))
    with pytest.raises(RunError) as e:
        bench.session(users[2]).submit(TrainConfig(epochs=1))
    assert str(e.value) == ("the class queue is full (2 runs queued or running, the cap is 2); "
                            "try again when one finishes")


def test_one_person_cannot_fill_the_queue_with_names_from_one_address(bench, room):
    """Issue 37, item 2: names joined from one address (as the gate records them) share its
    runs at a time, so forty names made on one machine cannot fill the class queue; a student
    on another machine still gets a run in."""
    room.set_limits(ClassLimits(queue_cap=40))
    room.open_challenge("digits", 10, limits=ClassLimits(active_per_address=2))
    names = [room.join(f"Sock{i}", address="10.0.0.9")[0] for i in range(5)]
    assert room.peers(names[0].id) == {u.id for u in names}
    for user in names[:2]:
        bench.session(user).submit(TrainConfig(epochs=1))
    for user in names[2:]:
        with pytest.raises(RunError, match="joined from your address have 2 run"):
            bench.session(user).submit(TrainConfig(epochs=1))
    real, _ = room.join("Real Student", address="10.0.0.8")
    assert bench.session(real).submit(TrainConfig(epochs=1))
    # A name is counted where it last joined from, and a removed name frees its share.
    room.remove_student(names[0].id)
    assert names[0].id not in room.peers(names[1].id)


def test_a_teachers_wide_sweep_leaves_the_students_queue_open(bench, room):
    """Issue 37, item 8: 45 trials at once counted against the class queue cap, and every
    student got "the class queue is full". The teacher's runs and trials are not counted."""
    from resnet_core.sweeps.study import SweepConfig

    room.set_limits(ClassLimits(queue_cap=2))
    room.open_challenge("digits", 10)
    teacher = bench.session(TEACHER)
    teacher.start_sweep(SweepConfig(params=["lr=log:0.01:0.5"], trials=6, parallel=6,
                                    pruner="none", base=TrainConfig(epochs=1)))
    teacher.submit(TrainConfig(epochs=1))
    wait_for(lambda: bench.jobs.counts()["queued"] >= 7, 30)
    students = [room.join(name)[0] for name in ("A", "B", "C")]
    bench.session(students[0]).submit(TrainConfig(epochs=1))
    bench.session(students[1]).submit(TrainConfig(epochs=1))
    with pytest.raises(RunError, match="the class queue is full \\(2 runs"):  # students' own cap holds
        bench.session(students[2]).submit(TrainConfig(epochs=1))


def test_a_batch_that_does_not_fit_in_memory_is_refused(bench, room):
    with pytest.raises(ConfigError, match="MiB is free; use a smaller batch"):
        bench.session(TEACHER).submit(TrainConfig(dataset="digits", arch="resnet56", image_size=1024, batch_size=100_000,
                                  epochs=1))


def test_students_stop_resume_and_delete_only_their_own(bench, paused, room):
    room.open_challenge("digits", 10)
    ada, _ = room.join("Ada")
    bob, _ = room.join("Bob")
    run_id = bench.session(ada).submit(TrainConfig(epochs=1))
    with pytest.raises(AccessDenied, match="another person's run"):
        bench.session(bob).stop(run_id)
    assert paused.store.get(run_id).state == "queued"
    bench.session(ada).stop(run_id)
    for action in (lambda: bench.session(bob).resume(run_id), lambda: bench.session(bob).delete(run_id)):
        with pytest.raises(AccessDenied):
            action()
    bench.session(TEACHER).delete(run_id)
    assert not paused.store.path(run_id).exists()


def test_round_robin_over_students():
    """Ada queues three runs before Bob and Cy queue one each: they take turns."""
    queue = FairQueue()
    for owner, n in (("s-ada", 3), ("s-bob", 1), ("s-cy", 1)):
        for i in range(n):
            queue.push("cpu", f"{owner}-{i}", owner)
    order = []
    while (run_id := queue.next("cpu")) is not None:
        queue.start("cpu", run_id)
        order.append(run_id)
    assert order == ["s-ada-0", "s-bob-0", "s-cy-0", "s-ada-1", "s-ada-2"]


def test_a_job_stopped_while_queued_leaves_the_fair_queue_and_one_owner_is_fifo():
    queue = FairQueue()
    for run_id in ("a", "b", "c"):
        queue.push("cpu", run_id, "local")
    assert queue.remove("cpu", "b") and not queue.remove("cpu", "b")
    assert queue.next("cuda") is None
    queue.start("cpu", queue.next("cpu"))
    assert queue.waiting("cpu") == ["c"]


def test_thirty_lesson_clicks_queue_one_set_of_runs(bench, paused, room):
    lesson = LESSON_TABLE["depth"]
    students = [room.join(f"Student {i}")[0] for i in range(30)]
    results = []
    threads = [threading.Thread(target=lambda u=u: results.append(
        bench.session(u).queue_lesson(lesson, dataset="digits"))) for u in students]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queued = [run_id for r in results for run_id in r]
    assert len(queued) == len(lesson.labels)
    assert all(paused.store.get(r).owner.id == LESSONS.id for r in queued)
    # Students cannot stop the shared runs; a later student click reuses them.
    with pytest.raises(AccessDenied, match="shared lesson run"):
        bench.session(students[0]).stop(queued[0])
    assert bench.session(students[1]).queue_lesson(lesson, dataset="digits") == []
    with pytest.raises(RunError, match="already queued or running"):
        bench.session(TEACHER).queue_lesson(lesson, dataset="digits")
    with pytest.raises(ConfigError, match="take only dataset, data_root"):
        bench.session(TEACHER).queue_lesson(lesson, lr=9.0)


def test_leaderboard_ranks_by_accuracy_then_time(tmp_path, short_run, room):
    """Three copies of a real run, as entries of three students with edited results."""
    room.open_challenge("digits", 10, anonymous=False)
    cid = room.state.challenge.id
    root = tmp_path / "runs"
    results = {"Ada": (0.95, 9.0), "Bob": (0.97, 12.0), "Cy": (0.97, 8.0)}
    for i, (name, (acc, seconds)) in enumerate(results.items()):
        run_dir = root / f"20260101-00000{i}-digits-resnet20-000{i}"
        shutil.copytree(short_run.dir, run_dir)
        (run_dir / "job.json").write_text(json.dumps(
            {"owner": {"id": f"s-{name}", "name": name}, "challenge": cid}))
        lines = [{"split": "train", "elapsed_s": seconds}, {"split": "test", "accuracy": acc}]
        (run_dir / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in lines))
        config = json.loads((run_dir / "config.json").read_text())
        (run_dir / "config.json").write_text(json.dumps({**config, "lr": 0.1 + i / 100}))
    from resnet_core.runs.store import RunStore

    board = leaderboard(room.entries(RunStore(root)))
    assert [(r["rank"], r["name"]) for r in board] == [(1, "Cy"), (2, "Bob"), (3, "Ada")]
    changes = config_changes({"lr": 0.12, "arch": "resnet20"}, {"lr": 0.1, "arch": "resnet20"})
    assert changes == {"lr": "0.1 (winner: 0.12)"}
    room.close_challenge(reveal=True)
    room.state.challenge = type(room.state.challenge)(**{**room.state.challenge.__dict__, "anonymous": True})
    names = {r["name"] for r in room.entries(RunStore(root))}
    assert names == {"Student 1", "Student 2", "Student 3"}


def test_only_the_teacher_uploads_datasets(tmp_path, bench, room):
    from helpers import folder_zip

    student, _ = room.join("Ada")
    with pytest.raises(AccessDenied, match="only the teacher may upload datasets"):
        bench.session(student).upload_data("pets.zip", folder_zip())
    assert not (tmp_path / "data").exists()  # nothing was written
    root = bench.session(TEACHER).upload_data("pets.zip", folder_zip())
    assert sorted(p.name for p in root.iterdir()) == ["cat", "dog"]


@pytest.mark.slow  # two training children: ~15 s
def test_class_server_jobs_keep_the_servers_priority(tmp_path, room):
    """Single-user children lower their priority by 5 (pages stay responsive); a class
    server's keep it (its pages are cheap; class_load.py measured the trade). Read off the
    training child itself while it trains."""
    import os

    from helpers import wait_for

    def child_nice(manager: JobManager) -> int:
        run_id = manager.submit(TrainConfig(dataset="digits", arch="resnet8", epochs=50,
                                            probe_snapshots=0), limited=False)
        wait_for(lambda: manager.store.get(run_id).state == "running", 120)
        job = next(j for j in manager.jobs() if j.run_id == run_id)
        nice = os.getpriority(os.PRIO_PROCESS, job.process.pid)
        manager.stop(run_id)
        assert manager.wait(run_id, 120)
        return nice - os.getpriority(os.PRIO_PROCESS, 0)

    single = JobManager(tmp_path / "single", warm_worker=False)
    try:
        assert child_nice(single) == 5
    finally:
        single.shutdown()
    classroom = JobManager(tmp_path / "runs", warm_worker=False, policy=room)
    try:
        assert child_nice(classroom) == 0
    finally:
        classroom.shutdown()


def test_a_run_the_teacher_stops_is_held_until_the_teacher_resumes_it(bench, paused, room):
    """Issue 31 item 15: the teacher's stop holds (the owner cannot resume it at once), and the
    held run leaves the leaderboard; the teacher's resume lifts the hold."""
    room.open_challenge("digits", 10)
    ada, _ = room.join("Ada")
    run_id = bench.session(ada).submit(TrainConfig(epochs=1))
    assert [e["run_id"] for e in room.entries(bench.store)] == [run_id]
    bench.session(TEACHER).stop(run_id, "resnet56 at 30 epochs holds the queue")
    # Issue 38, item 16: the student reads why, not only "stopped".
    assert bench.store.get(run_id).status["error"] == "the teacher stopped it: resnet56 at 30 epochs holds the queue"
    with pytest.raises(AccessDenied, match="the teacher stopped run"):
        bench.session(ada).resume(run_id)
    assert room.entries(bench.store) == []
    bench.session(TEACHER).resume(run_id)
    assert bench.store.get(run_id).state == "queued"
    assert [e["run_id"] for e in room.entries(bench.store)] == [run_id]
    bench.session(ada).stop(run_id)  # her own stop does not hold it
    bench.session(ada).resume(run_id)
    assert bench.store.get(run_id).state == "queued"


def test_a_student_cannot_queue_every_lesson(bench, paused, room):
    """Issue 31 item 10: one student's clicks may have one lesson's set going (7 runs by
    default); the next lesson waits until those finish, and nothing of it is queued."""
    ada, _ = room.join("Ada")
    depth = bench.session(ada).queue_lesson(LESSON_TABLE["depth"], dataset="digits")
    degradation = bench.session(ada).queue_lesson(LESSON_TABLE["degradation"], dataset="digits")
    assert len(depth) + len(degradation) == 7 == paused.active_queued_by(ada.id)
    before = len(paused.jobs())
    with pytest.raises(RunError, match="the class allows 7 at a time"):
        bench.session(ada).queue_lesson(LESSON_TABLE["activations"], dataset="digits")
    assert len(paused.jobs()) == before  # none of its runs was queued
    bob, _ = room.join("Bob")  # another student's clicks have their own allowance
    assert len(bench.session(bob).queue_lesson(LESSON_TABLE["activations"], dataset="digits")) == 3
    assert len(bench.session(TEACHER).queue_lesson(LESSON_TABLE["transfer"], dataset="digits")) == 7


def test_the_class_language_survives_a_restart_and_only_the_teacher_sets_it(tmp_path, bench, room):
    """Issue 39: the teacher's choice is the class's default (a student may still switch)."""
    ada, _ = room.join("Ada")
    with pytest.raises(AccessDenied, match="only the teacher"):
        bench.session(ada).set_class_language("zh-CN")
    bench.session(TEACHER).set_class_language("zh-CN")
    assert Classroom(room.dir.parent, teacher_token="tok").state.language == "zh-CN"
    with pytest.raises(ConfigError, match="language must be one of en, zh-CN, got 'fr'"):
        room.set_language("fr")
    room.set_language(None)
    assert Classroom(room.dir.parent, teacher_token="tok").state.language is None
