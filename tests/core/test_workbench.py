"""The front door: every action of a Session checks access once and fails closed; the data
folder's rule; and the defects the seven-wings read found (each test failed before its fix)."""

from __future__ import annotations

import json
import os
import time

import pytest

from resnet_core import TrainConfig
from resnet_core.classroom.access import NOBODY, AccessDenied
from resnet_core.classroom.challenge import ClassLimits
from resnet_core.classroom.lessons import LESSONS as LESSON_TABLE
from resnet_core.data.folder import DataFolder
from resnet_core.errors import DataError
from resnet_core.sweeps.study import SweepConfig
from resnet_core.workbench import Workbench

from helpers import TEACHER, folder_zip


def test_a_forged_or_missing_cookie_is_nobody_and_single_user_mode_is_local(tmp_path, bench):
    assert bench.session_for_cookie(None).user == NOBODY
    assert bench.session_for_cookie("forged.cookie").user == NOBODY
    _, cookie = bench.classroom.join("Ada")
    assert bench.session_for_cookie(cookie).user.name == "Ada"
    single = Workbench(tmp_path / "single", max_jobs=0)
    try:
        assert single.session_for_cookie(None).user.is_teacher
    finally:
        single.jobs.shutdown()


# Every action of the front door, as a user who has not joined would call it. A challenge is
# open and a run exists, so nothing but the access check can refuse them.
ACTIONS = {
    "submit": lambda s, run_id: s.submit(TrainConfig(epochs=1)),
    "submit on several GPUs": lambda s, run_id: s.submit(TrainConfig(epochs=1), processes=2),
    "resume": lambda s, run_id: s.resume(run_id),
    "stop": lambda s, run_id: s.stop(run_id),
    "delete": lambda s, run_id: s.delete(run_id),
    "queue a lesson": lambda s, run_id: s.queue_lesson(LESSON_TABLE["depth"], dataset="digits"),
    "upload data": lambda s, run_id: s.upload_data("pets.zip", folder_zip()),
    "upload weights": lambda s, run_id: s.upload_weights("w.pth", b"not weights"),
    "deploy": lambda s, run_id: s.deploy(run_id),
    "undeploy": lambda s, run_id: s.undeploy(run_id),
    "set limits": lambda s, run_id: s.set_limits(ClassLimits()),
    "set the class code": lambda s, run_id: s.set_class_code("x"),
    "lock a lesson": lambda s, run_id: s.lock_lesson("depth"),
    "set the class's language": lambda s, run_id: s.set_class_language("zh-CN"),
    "open a challenge": lambda s, run_id: s.open_challenge("digits", 10),
    "close the challenge": lambda s, run_id: s.close_challenge(),
    "reset the class": lambda s, run_id: s.reset_class(),
    "find a learning rate": lambda s, run_id: s.find_lr(TrainConfig(epochs=1)),
    "remove a student": lambda s, run_id: s.remove_student("s-000000000000"),
    "make a rejoin code": lambda s, run_id: s.rejoin_code("s-000000000000"),
    "start a sweep": lambda s, run_id: s.start_sweep(SweepConfig(
        base=TrainConfig(epochs=1), params=["lr=log:1e-3:1"], trials=2)),
    "stop a sweep": lambda s, run_id: s.stop_sweep("any"),
    "resume a sweep": lambda s, run_id: s.resume_sweep("any"),
    "export to MLflow": lambda s, run_id: s.export_to_mlflow([run_id]),
    "start TensorBoard": lambda s, run_id: s.start_tensorboard(),
    "predict a lesson's answer": lambda s, run_id: s.vote(LESSON_TABLE["depth"], 0),
    "see the class's predictions": lambda s, run_id: s.tally(LESSON_TABLE["depth"]),
    "import a class list": lambda s, run_id: s.import_class_list(b"name\nAda\n"),
    "see the class list": lambda s, run_id: s.class_list(),
    "download the gradebook": lambda s, run_id: s.gradebook("canvas"),
    "see the class's changes": lambda s, run_id: s.class_actions(),
    "make a run's report": lambda s, run_id: s.report(run_id),
    "add a class": lambda s, run_id: s.add_class("Section B"),
    "rename the class": lambda s, run_id: s.rename_class("Section A"),
    "invite a co-teacher": lambda s, run_id: s.add_staff("teacher", "Grace"),
    "revoke a link": lambda s, run_id: s.revoke_staff("t-00000000"),
    "see the class's teachers": lambda s, run_id: s.staff(),
}


def test_every_action_of_the_front_door_has_a_row_above():
    """A Session method added without a row here would never be checked for a user who has
    not joined (issue 36): each public method is called by some row."""
    import inspect

    from resnet_core.workbench import Session

    class Recorder:
        def __init__(self) -> None:
            self.called: set[str] = set()

        def __getattr__(self, name):
            self.called.add(name)
            return lambda *args, **kwargs: None

    recorder = Recorder()
    for call in ACTIONS.values():
        call(recorder, "run-id")
    public = {name for name, _ in inspect.getmembers(Session, inspect.isfunction)
              if not name.startswith("_")}
    questions = {"may_control", "may_resume", "classes", "sees_class", "sees_run"}  # ask, change nothing
    assert public - questions == recorder.called


@pytest.mark.parametrize("action", ACTIONS)
def test_a_user_who_has_not_joined_is_refused_by_every_action(bench, action):
    teacher = bench.session(TEACHER)
    teacher.open_challenge("digits", 10)
    ada, _ = bench.classroom.join("Ada")
    run_id = bench.session(ada).submit(TrainConfig(epochs=1))
    before = sorted(p.name for p in bench.runs_dir.iterdir())
    with pytest.raises(AccessDenied):
        ACTIONS[action](bench.session_for_cookie(None), run_id)
    assert sorted(p.name for p in bench.runs_dir.iterdir()) == before  # nothing was written
    assert bench.store.get(run_id).state == "queued"
    assert bench.classroom.state.challenge is not None and bench.classroom.state.roster


def test_students_are_refused_the_teachers_actions(bench):
    ada, _ = bench.classroom.join("Ada")
    student = bench.session(ada)
    for action in ("submit on several GPUs", "upload data", "upload weights", "set limits",
                   "lock a lesson", "set the class's language", "open a challenge", "reset the class", "find a learning rate",
                   "remove a student", "make a rejoin code", "start a sweep", "stop a sweep",
                   "resume a sweep", "export to MLflow", "start TensorBoard",
                   "see the class's predictions", "add a class", "rename the class", "invite a co-teacher",
                   "revoke a link", "see the class's teachers"):
        with pytest.raises(AccessDenied, match="only the teacher"):
            ACTIONS[action](student, None)


def test_the_reset_stops_students_runs_and_keeps_the_teachers(bench):
    teacher = bench.session(TEACHER)
    teacher.open_challenge("digits", 10)
    ada, _ = bench.classroom.join("Ada")
    students_run = bench.session(ada).submit(TrainConfig(epochs=1))
    teachers_run = teacher.submit(TrainConfig(epochs=1))
    assert teacher.reset_class() == [students_run]
    assert bench.store.get(students_run).state == "stopped"
    assert bench.store.get(teachers_run).state == "queued"
    assert bench.classroom.state.roster == {}


def test_the_data_folder_keeps_every_root_inside_it(tmp_path):
    folder = DataFolder((tmp_path / "data").resolve())
    assert folder.inside(tmp_path / "data" / "pets") == (tmp_path / "data" / "pets").resolve()
    with pytest.raises(DataError, match="outside the data folder"):
        folder.inside(tmp_path / "data" / ".." / "secrets")
    assert folder.place(TrainConfig()).data_root == str(folder.root)
    with pytest.raises(DataError, match="outside the data folder"):
        folder.place(TrainConfig(data_root="/etc"))


# -- the three defects ----------------------------------------------------------------------

def test_a_challenge_run_reads_its_data_from_the_workbenchs_data_folder(bench):
    """Defect 2: challenge runs ignored RESNET_WORKBENCH_DATA (the page passed no data root)."""
    bench.session(TEACHER).open_challenge("digits", 10)
    ada, _ = bench.classroom.join("Ada")
    run_id = bench.session(ada).submit(TrainConfig(dataset="digits", epochs=1))
    assert bench.store.get(run_id).config["data_root"] == str(bench.data.root)


def test_the_app_data_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_WORKBENCH_DATA", str(tmp_path / "shared-data"))
    assert DataFolder.from_settings().root == (tmp_path / "shared-data").resolve()


def test_removing_old_uploads_removes_each_weights_file_on_its_own(tmp_path):
    """Defect 3: uploads/weights/ was one upload: every weights file went at once."""
    from helpers import run_cli

    weights = tmp_path / "uploads" / "weights"
    weights.mkdir(parents=True)
    old, new = weights / "aaa-old.pth", weights / "bbb-new.pth"
    old.write_bytes(b"0" * 10)
    new.write_bytes(b"1" * 10)
    week_ago = time.time() - 8 * 86400
    os.utime(old, (week_ago, week_ago))
    os.utime(weights, (week_ago, week_ago))  # the folder is old too: it must not count
    listed = run_cli("uploads", "--data-dir", str(tmp_path))
    assert listed.returncode == 0 and "aaa-old.pth" in listed.stdout and "bbb-new.pth" in listed.stdout
    removed = run_cli("uploads", "--data-dir", str(tmp_path), "--remove-older-than", "7")
    assert removed.returncode == 0, removed.stderr
    assert f"removed {old}" in removed.stdout
    assert not old.exists() and new.exists()


def test_a_device_recorded_with_its_index_reads_as_the_choice():
    """Defect 1 (unit): a torchrun GPU run's config.json says "cuda:0"."""
    assert TrainConfig.from_dict({"device": "cuda:0"}).device == "cuda"
    TrainConfig.from_dict({"device": "cpu:0"}).validate()


def test_a_run_whose_config_records_an_indexed_device_resumes(short_run, tmp_path):
    """Defect 1: resume refused a run whose config.json records the device with its index, as
    every torchrun GPU run does ("cuda:0"); here the CPU's "cpu:0", so it runs on this machine."""
    import shutil

    from resnet_core import resume

    run_dir = tmp_path / short_run.dir.name
    shutil.copytree(short_run.dir, run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    (run_dir / "config.json").write_text(json.dumps({**config, "device": "cpu:0"}))
    resumed = resume(run_dir, epochs=4, progress=False)
    assert resumed.status["state"] == "completed" and resumed.status["epoch"] == 4


# -- issue 36: the defects a fresh read found ------------------------------------------------

def test_a_class_server_restarted_with_a_teachers_sweep_queues_its_next_trial(tmp_path, room):
    """Defect 1: after a restart the sweep carried on as an ``Owner``, which the class's policy
    asked for ``is_teacher``: the first trial it queued raised AttributeError and the sweep
    stopped with that message. The front door now decides what bounds a submission, and
    sweep.json keeps that decision for the next server."""
    from resnet_core.sweeps.study import get_sweep

    from helpers import wait_for

    data = DataFolder((tmp_path / "data").resolve())
    first = Workbench(tmp_path / "runs", classroom=room, max_jobs=0, data=data)
    config = SweepConfig(base=TrainConfig(dataset="digits", arch="resnet8", epochs=1),
                         params=["lr=log:1e-3:1"], trials=3, pruner="none", sampler="random")
    sweep_id = first.session(TEACHER).start_sweep(config).id

    def trial_runs():  # job.json's "sweep" says which run is which trial
        return {r.job.sweep.trial: r for r in first.store.runs() if r.job.sweep is not None}

    wait_for(lambda: 0 in trial_runs(), timeout=30)
    first.close(timeout=5)  # the server goes; trial 0 stays queued, the sweep running
    second = Workbench(tmp_path / "runs", classroom=room, max_jobs=0, data=data)
    try:
        second.session(TEACHER).stop(trial_runs()[0].id)  # by hand: the sweep asks for trial 1
        # Queued: the folder is made (config, job) a moment before its status says queued.
        wait_for(lambda: (1 in trial_runs() and trial_runs()[1].state == "queued")
                 or get_sweep(tmp_path / "runs", sweep_id).state != "running", timeout=30)
        found = get_sweep(tmp_path / "runs", sweep_id)
        assert found.state == "running", found.info.get("error")
        assert trial_runs()[1].state == "queued"
        assert trial_runs()[1].owner == TEACHER.owner  # the teacher's trial
    finally:
        second.close(timeout=5)


def test_a_resume_of_a_run_stopped_before_its_first_checkpoint_keeps_its_max_steps(tmp_path):
    """Defect 2: the child read job.json's raw keys and, with no last.pt to resume from,
    trained the run's old budget (3 epochs) instead of the resume's max_steps."""
    from resnet_core.classroom.access import LOCAL

    from helpers import wait_for

    bench = Workbench(tmp_path / "runs", max_jobs=1, data=DataFolder(tmp_path.resolve()))
    try:
        session = bench.session(LOCAL)
        ahead = session.submit(TrainConfig(dataset="digits", arch="resnet8", epochs=1,
                                           probe_snapshots=0))
        waiting = session.submit(TrainConfig(dataset="digits", arch="resnet8", epochs=3,
                                             probe_snapshots=0))
        session.stop(waiting)  # still queued behind the first: stopped with no checkpoint
        assert not bench.store.get(waiting).has_checkpoint("last")
        session.resume(waiting, max_steps=7)
        wait_for(lambda: bench.store.get(waiting).state not in ("queued", "running"), 180)
        status = bench.store.get(waiting).status
        assert status["state"] == "completed", status.get("error")
        assert status["step"] == 7
        assert bench.store.get(ahead).state == "completed"
    finally:
        bench.close(timeout=10)


# -- rules that lived in pages --------------------------------------------------------------

def test_the_form_starts_each_optimizer_at_its_usual_learning_rate():
    from resnet_core.training.config import DEFAULT_LR, OPTIMIZERS

    assert set(DEFAULT_LR) == set(OPTIMIZERS)
    assert DEFAULT_LR["sgd"] == 0.1 and DEFAULT_LR["adam"] == DEFAULT_LR["adamw"] == 0.001


def test_a_configs_input_shape_comes_from_the_registry_and_its_image_size():
    assert TrainConfig(dataset="digits").input_shape() == (1, 8)
    assert TrainConfig(dataset="shapes").input_shape() == (3, 32)
    assert TrainConfig(dataset="mnist").input_shape() == (1, 28)
    assert TrainConfig(dataset="mnist", image_size=32).input_shape() == (1, 32)
    assert TrainConfig(dataset="folder").input_shape() == (3, 64)


def test_preflight_names_the_first_problem_in_one_line():
    from resnet_core import load_dataset
    from resnet_core.workbench import preflight

    assert preflight(TrainConfig(epochs=1)) is None
    assert "lr" in preflight(TrainConfig(lr=-1.0))
    assert "processes" in preflight(TrainConfig(epochs=1), processes=10_000)
    digits = load_dataset("digits")
    assert preflight(TrainConfig(epochs=1), dataset=digits) is None
    problem = preflight(TrainConfig(epochs=1, arch="resnet18", stem="imagenet"), dataset=digits)
    assert problem is None or "\n" not in problem


def test_the_predictors_probabilities_match_its_top_k(short_run):
    from resnet_core import Predictor, load_dataset

    predictor = Predictor(short_run.checkpoint("best"))
    image = load_dataset("digits").images("test", [0])[0]
    probs = predictor.probabilities(image)
    assert probs.shape == (10,) and abs(float(probs.sum()) - 1) < 1e-5
    (top_name, top_p), *_ = predictor.predict_images(image[None])[0]
    assert top_name == predictor.info.class_names[int(probs.argmax())]
    assert abs(top_p - float(probs.max())) < 1e-6


@pytest.mark.slow  # two training children in turn: about a minute
def test_the_learning_rate_finder_runs_as_a_job_in_its_turn(tmp_path):
    """The finder goes through the same queue as runs (it used to bypass the queue, the device
    and the user in a page's own subprocess): it waits for the run ahead of it, reports its
    progress in its folder, and leaves the curve and a suggestion, not a run."""
    from resnet_core.classroom.access import LOCAL

    from helpers import wait_for

    bench = Workbench(tmp_path / "runs", max_jobs=1, data=DataFolder(tmp_path.resolve()))
    try:
        session = bench.session(LOCAL)
        run_id = session.submit(TrainConfig(epochs=2))
        sweep = session.find_lr(TrainConfig(epochs=1), steps=30)
        queued = bench.lr_find_status(sweep)
        assert queued["state"] == "queued" and queued["jobs_ahead"] == 1
        wait_for(lambda: bench.lr_find_status(sweep)["state"] in ("completed", "failed"), 300)
        done = bench.lr_find_status(sweep)
        assert done["state"] == "completed", done
        assert 1e-7 <= done["suggestion"] <= 10
        assert done["step"] == len(done["sweep"]["lr"]) and done["steps"] == 30
        assert bench.store.get(run_id).state == "completed"  # the run ahead trained first
        assert [r.id for r in bench.store.runs()] == [run_id]  # the sweep is not a run
    finally:
        bench.jobs.shutdown()


def test_a_text_file_named_like_weights_is_a_one_line_error(tmp_path, bench):
    """Issue 25, bug 2: torch's weights-only unpickler raised KeyError on a text file."""
    from resnet_core.training.transfer import InitError

    from helpers import TEACHER, run_cli

    text = b"these are not weights\n"
    with pytest.raises(InitError) as e:
        bench.session(TEACHER).upload_weights("weights.pth", text)
    assert "weights.pth is not a PyTorch weights file" in str(e.value) and "\n" not in str(e.value)
    (tmp_path / "weights.pth").write_bytes(text)
    result = run_cli("train", "--init-from", str(tmp_path / "weights.pth"), "--epochs", "1",
                     "--runs-dir", str(tmp_path / "cli-runs"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not a PyTorch weights file" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "cli-runs").exists()  # refused before any run folder is made
