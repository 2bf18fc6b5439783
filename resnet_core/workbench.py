"""The front door: one ``Workbench`` per runs folder and process, and a ``Session`` per user
whose every action checks access once, here, and fails closed.

    bench = open_workbench()                 # the app's: $RESNET_WORKBENCH_RUNS, the data folder
    session = bench.session_for_cookie(c)    # LOCAL in single-user mode; NOBODY if not joined
    run_id = session.submit(TrainConfig(epochs=5))

A user who has not joined a class server (no cookie, a forged or expired one) is ``NOBODY``: a
user with no rights, refused by every action, never ``None``. Below this module nothing
checks who is asking: the job queue takes an owner and whether the class's student limits
bound the run, the class takes the teacher's settings, the data folder takes bytes.

Why one module of about 450 lines: the ``Session`` is the table of every action a person
takes with its access check; kept together, the checks read side by side.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from resnet_core.classroom.access import (
    ALL_CLASSES,
    LOCAL,
    MAIN_CLASS,
    NOBODY,
    AccessDenied,
    User,
    may_control,
    require_control,
    require_member,
    require_staff,
    require_teacher,
)
from resnet_core.classroom.challenge import Challenge, ClassLimits
from resnet_core.classroom.class_list import parse_class_list
from resnet_core.classroom.classroom import Classroom
from resnet_core.classroom.course import Course, course_for
from resnet_core.classroom.gradebook import grade_rows, gradebook_csv
from resnet_core.classroom.lesson_queue import queue_lesson
from resnet_core.data.folder import DataFolder
from resnet_core.errors import WorkbenchError, first_line
from resnet_core.i18n import _
from resnet_core.interop.tensorboard_server import TensorBoardServer
from resnet_core.jobs.manager import JobManager, hand_off_to_owner
from resnet_core.runs.jobfile import set_hold
from resnet_core.runs.store import RunStore
from resnet_core.serving.deploy import Deployment, Deployments
from resnet_core.settings import MAX_JOBS, settings
from resnet_core.sweeps.runner import Sweeps
from resnet_core.sweeps.study import Sweep, SweepConfig, get_sweep
from resnet_core.training.config import TrainConfig


class Workbench:
    """A runs folder as the app serves it: its job queue, its class (on a class server), its
    data folder and its deployed models. One per folder and process (``open_workbench``)."""

    def __init__(self, runs_dir: str | Path, *, data: DataFolder | None = None,
                 classroom: Classroom | None = None, course: Course | None = None,
                 max_jobs: int = 1, warm_worker: bool | None = None) -> None:
        self.runs_dir = Path(runs_dir).resolve()
        self.data = data or DataFolder.from_settings()
        if course is None and classroom is not None:
            course = Course(self.runs_dir, main=classroom)
        self.course = course  # a class server's classes; None in single-user mode
        self.classroom = course.main if course is not None else None  # the first class
        # A class server checks students' submissions against the class the front door names
        # (the course is the policy).
        self.jobs = JobManager(self.runs_dir, policy=self.course,
                               max_running_per_device=max_jobs, warm_worker=warm_worker)
        self.store = self.jobs.store
        self.sweeps = Sweeps(self.jobs)  # carries on the sweeps a previous server left running
        self.deployments = Deployments()
        self.tensorboard = TensorBoardServer(self.runs_dir)  # started from the Runs page

    @property
    def mlflow_tracking_uri(self) -> str:
        """Where "Export to MLflow" writes unless told: $MLFLOW_TRACKING_URI, else SQLite in
        the runs folder."""
        from resnet_core.interop.mlflow_export import default_tracking_uri

        return default_tracking_uri(self.runs_dir)

    @property
    def class_mode(self) -> bool:
        return self.classroom is not None

    def run_class(self, run) -> str | None:
        """The class a run belongs to: the one it was queued in, else its owner's (None: no
        class's, as the teacher's own runs and the shared lesson runs)."""
        if self.course is None:
            return None
        return run.job.class_id or self.course.class_of_owner(run.owner.id)

    def session(self, user: User, class_id: str | None = None) -> Session:
        """What ``user`` may do here (in ``class_id``: the class a teacher of several chose)."""
        return Session(self, user, class_id)

    def session_for_cookie(self, cookie: str | None, class_id: str | None = None) -> Session:
        """Single-user mode: ``LOCAL``, every control. A class server: the user of a valid
        session cookie, else ``NOBODY`` (not joined, forged, expired, or reset); a student in
        their class, the server's teacher in ``class_id`` (the first class if not given)."""
        if self.course is None:
            return Session(self, LOCAL)
        return Session(self, self.course.user_from_cookie(cookie) or NOBODY, class_id)

    def lr_find_status(self, sweep_id: str) -> dict:
        """A learning-rate sweep as the page shows it: {"state", "step", "steps", "error",
        "suggestion", "jobs_ahead"} and, once completed, "sweep" (columns of lr_find.csv)."""
        from resnet_core.runs.folder import LR_FIND_DIR, Run, validate_run_id

        run = Run(self.runs_dir / LR_FIND_DIR / validate_run_id(sweep_id))
        status = run.status
        state = status.get("state")
        out = {"state": state, "step": status.get("step", 0), "steps": status.get("steps"),
               "error": status.get("error"), "suggestion": status.get("suggestion")}
        if state == "queued":
            counts = self.jobs.counts()
            out["jobs_ahead"] = max(0, counts["running"] + counts["queued"] - 1)  # less itself
        if state == "completed":
            import pandas as pd

            out["sweep"] = pd.read_csv(run.lr_find_paths[0]).to_dict("list")
        return out

    def close(self, timeout: float = 60.0) -> None:
        """Server exit: running jobs checkpoint and stop, queued ones stay queued, deployed
        services stop."""
        self.sweeps.close()  # no new trials; the next server resumes the sweeps
        self.jobs.close(timeout)
        self.deployments.close()
        self.tensorboard.stop()


class Session:
    """One user's actions. Each checks access first and raises ``AccessDenied`` (one line)."""

    def __init__(self, bench: Workbench, user: User, class_id: str | None = None) -> None:
        self.bench = bench
        self.user = user
        # The class this session acts in: a student's or a class's co-teacher's own; the
        # server's teacher's choice (the first class unless they chose another).
        self.class_id: str | None = None
        if bench.course is not None:
            if user.class_id != ALL_CLASSES:
                self.class_id = user.class_id
            else:  # the one asked for if it exists (a stat, not a listing: pages make many sessions)
                try:
                    self.class_id = bench.course.get(class_id).id
                except WorkbenchError:
                    self.class_id = MAIN_CLASS

    @property
    def room(self) -> Classroom | None:
        """The class this session acts in (None in single-user mode)."""
        return self.bench.course.get(self.class_id) if self.bench.course is not None else None

    def classes(self) -> list[Classroom]:
        """The classes this user may switch between: every class for the server's teacher,
        else their own."""
        if self.bench.course is None:
            return []
        if self.user.class_id == ALL_CLASSES and self.user.is_teacher:
            return self.bench.course.classes()
        return [self.room]

    def sees_class(self, class_id: str | None) -> bool:
        """Whether runs of ``class_id`` are this user's to see: a class's members see their
        class's runs and those of no class (the teacher's own, the shared lesson runs); the
        server's teacher sees every run."""
        return (self.bench.course is None or class_id is None or class_id == self.class_id
                or self.user.class_id == ALL_CLASSES)

    def sees_run(self, run) -> bool:
        return self.sees_class(self.bench.run_class(run))

    # -- runs ---------------------------------------------------------------------------

    def submit(self, config: TrainConfig, *, processes: int = 1) -> str:
        """Queue a run; its data comes from the workbench's data folder. On a class server a
        student's run enters the open challenge within its limits; several GPUs are the
        teacher's."""
        require_member(self.user, "train a model")
        if processes > 1:
            require_teacher(self.user, "train on several GPUs")
        config = self.bench.data.place(config)
        return self.bench.jobs.submit(config, processes=processes, owner=self.user.owner,
                                      limited=self._limited, peers=self._peers, class_id=self.class_id)

    def resume(self, run_id: str, *, epochs: int | None = None,
               max_steps: int | None = None) -> str:
        """Continue a run from its last checkpoint: the teacher any run (which lifts a hold),
        a student their own unless the teacher stopped it."""
        self._require_control("resume", run_id)
        run = self.bench.store.get(run_id)
        hold = run.job.held_by
        if hold is not None and not self.user.is_teacher:
            raise AccessDenied(_("the teacher stopped run {run_id}; only the teacher can let it "
                                 "go on").format(run_id=run_id))
        queued = self.bench.jobs.resume(run_id, epochs=epochs, max_steps=max_steps,
                                        owner=self.user.owner, limited=self._limited,
                                        peers=self._peers, class_id=self.class_id)
        if hold is not None:
            set_hold(run, None)
        return queued

    def stop(self, run_id: str, reason: str = "") -> None:
        """Stop a queued or running run: the teacher any run, a student their own. A student's
        run the teacher stops is held: it leaves the leaderboard, and only the teacher can
        resume it; ``reason`` (one line, the teacher's words) is what its owner reads."""
        self._require_control("stop", run_id)
        run = self.bench.store.get(run_id)
        if self.user.is_staff and self.bench.course is not None and run.owner.id != self.user.id and \
                self.bench.course.class_of_owner(run.owner.id) is not None:
            set_hold(run, self.user.owner)
            reason = f"the teacher stopped it: {reason.strip()[:200]}" if reason.strip() else \
                "the teacher stopped it"
        self.bench.jobs.stop(run_id, " ".join(reason.split()))

    def delete(self, run_id: str) -> None:
        """Remove a run folder for good: the teacher any run, a student their own."""
        self._require_control("delete", run_id)
        self.bench.jobs.delete(run_id)

    def may_control(self, run_id: str, action: str = "delete") -> bool:
        """Whether ``action`` (stop, resume, delete) is this user's for the run (pages hide
        the buttons): the server's teacher any run; a class's co-teacher the runs of its
        students, an assistant stops them only; a student their own."""
        run = self.bench.store.get(run_id)
        if not may_control(self.user, run.owner.id) and not (self.user.is_staff and self.bench.course):
            return False
        if run.owner.id == self.user.id or self.user.class_id == ALL_CLASSES:
            return True
        if self.user.role == "assistant" and action != "stop":
            return False
        return self.bench.course.class_of_owner(run.owner.id) == self.class_id

    def may_resume(self, run_id: str) -> bool:
        """Whether Resume is this user's for the run: theirs to control, and not held by the
        teacher's stop (only the teacher lets a held run go on)."""
        run = self.bench.store.get(run_id)
        return self.may_control(run_id, "resume") and (run.job.held_by is None or self.user.is_teacher)

    def _require_control(self, action: str, run_id: str) -> None:
        require_member(self.user, f"{action} runs")
        run = self.bench.store.get(run_id)
        if not self.may_control(run_id, action):
            if self.user.is_staff and self.bench.course is not None:
                raise AccessDenied(_("run {run_id} is not a run of your class's students; a class's "
                                     "teachers may {action} only those").format(run_id=run_id, action=action))
            require_control(self.user, action, run_id, run.owner.id)

    @property
    def _limited(self) -> bool:
        """Whether the class's student limits bound what this user queues: decided here, once,
        and passed down (the queue and the class's policy never ask who is acting)."""
        return not self.user.is_teacher

    @property
    def _peers(self) -> frozenset[str]:
        """Whose runs share this user's per-address allowance: the names joined from the same
        address (a class server's limited users; nobody else is bounded by address)."""
        room = self.room
        if room is None or not self._limited:
            return frozenset()
        return room.peers(self.user.id)

    def find_lr(self, config: TrainConfig, *, steps: int = 200) -> str:
        """Queue a learning-rate range test for ``config`` (it waits its turn on the device like
        a run); its id for ``Workbench.lr_find_status``. Nothing is kept but the curve."""
        require_teacher(self.user, "find a learning rate")
        config = self.bench.data.place(config)
        return self.bench.jobs.submit_lr_find(config, steps=steps, owner=self.user.owner).name

    # -- sweeps -------------------------------------------------------------------------

    def start_sweep(self, config: SweepConfig) -> Sweep:
        """Search hyperparameters: the sweep's trials are this user's runs on the queue. On a
        class server a sweep is the teacher's (thirty searches would fill the queue)."""
        require_teacher(self.user, "run sweeps")
        config.base = self.bench.data.place(config.base)
        return self.bench.sweeps.start(config, owner=self.user.owner, limited=self._limited)

    def stop_sweep(self, sweep_id: str) -> None:
        """Stop a sweep: no new trials; its queued and running trials stop, resumable."""
        require_teacher(self.user, "stop sweeps")
        self.bench.sweeps.stop(get_sweep(self.bench.runs_dir, sweep_id))

    def resume_sweep(self, sweep_id: str) -> None:
        """Carry a stopped sweep on: its stopped trials resume where they were."""
        require_teacher(self.user, "resume sweeps")
        self.bench.sweeps.resume(get_sweep(self.bench.runs_dir, sweep_id), limited=self._limited)

    # -- lessons ------------------------------------------------------------------------

    def queue_lesson(self, lesson, **choices) -> list[str]:
        """Queue a lesson's runs (shared: every viewer watches the same ones); their ids."""
        require_member(self.user, "start a lesson")
        choices.setdefault("data_root", str(self.bench.data.root))
        return queue_lesson(self.bench.jobs, lesson, queued_by=self.user.owner,
                            fill_in=self._limited, class_id=self.class_id, **choices)

    # -- uploads ------------------------------------------------------------------------

    def upload_data(self, name: str, data: bytes) -> Path:
        """Unpack an uploaded .zip of an image folder into the data folder; its dataset root.
        Uploads write to the server's disk: on a class server, the teacher's."""
        from resnet_core.data.uploads import accept_upload

        require_teacher(self.user, "upload datasets")
        return accept_upload(self.bench.data.root, name, data)

    def upload_weights(self, name: str, data: bytes) -> Path:
        """Keep an uploaded .pth/.pt in the data folder once checked; its path."""
        from resnet_core.training.transfer import accept_weights

        require_teacher(self.user, "upload weights")
        return accept_weights(self.bench.data.root, name, data)

    # -- deployments --------------------------------------------------------------------

    def deploy(self, run_id: str, *, fmt: str = "eager") -> Deployment:
        """Serve a run over HTTP on a free local port (the teacher's)."""
        require_teacher(self.user, "deploy models")
        return self.bench.deployments.start(self.bench.store.get(run_id).dir, fmt=fmt)

    def undeploy(self, run_id: str) -> None:
        require_teacher(self.user, "stop deployed models")
        self.bench.deployments.stop(run_id)

    # -- other trackers (the teacher's) -------------------------------------------------

    def export_to_mlflow(self, run_ids: list[str], *, tracking_uri: str | None = None):
        """Export these runs to MLflow (default store: SQLite in the runs folder); the
        completed ones' best checkpoints registered as model versions. An ExportReport."""
        from resnet_core.interop.mlflow_export import app_tracking_uri, export_runs

        require_teacher(self.user, "export runs to MLflow")
        uri = app_tracking_uri(tracking_uri, self.bench.runs_dir)  # the runs folder's, or the operator's
        try:
            return export_runs(self.bench.runs_dir, run_ids, tracking_uri=uri)
        except WorkbenchError:
            raise
        except Exception as e:  # MLflow's own errors: one line on the page, never a traceback
            raise WorkbenchError(_("MLflow could not take the export: {first_line}").format(
                                     first_line=first_line(e, 300))) from e

    def start_tensorboard(self) -> str:
        """A TensorBoard over the runs folder on a local port (one per app); its URL."""
        require_teacher(self.user, "start TensorBoard")
        return self.bench.tensorboard.start()

    # -- the class (the teacher's) ------------------------------------------------------

    def set_limits(self, limits: ClassLimits) -> None:
        self._change("change the limits", lambda room: room.set_limits(limits))

    def set_class_code(self, code: str | None) -> None:
        self._change("set the class code", lambda room: room.set_class_code(code),
                     "set" if code else "none")

    def lock_lesson(self, lesson_id: str | None) -> None:
        self._change("lock the class to a lesson", lambda room: room.lock_lesson(lesson_id),
                     lesson_id or "none")

    def set_class_language(self, tag: str | None) -> None:
        """The language the class's pages speak to a student who has not chosen one."""
        self._change("set the class's language", lambda room: room.set_language(tag), tag or "each browser's")

    def import_class_list(self, data: bytes) -> list[dict]:
        """Reserve the names of a class list (CSV: name, optional student_id and email); one
        row per student with the rejoin code to hand out (``Classroom.import_class_list``)."""
        room = self._class("import a class list")
        enrollments = parse_class_list(data)
        rows = room.import_class_list(enrollments)
        room.actions.record(self.user.name, self.user.role, "import a class list",
                                f"{len(rows)} student" + ("" if len(rows) == 1 else "s"))
        return rows

    def class_list(self) -> list[dict]:
        """The imported class list with the rejoin codes still waiting to be used."""
        return self._class("see the class list").class_list()

    def gradebook(self, shape: str = "csv") -> str:
        """The class's gradebook as CSV text: plain, or the shape of Canvas's or Moodle's
        grade import (``classroom.gradebook``)."""
        room = self._class("download the gradebook")
        # Canvas's Section column: the class's name where the teacher named it ("Section B").
        return gradebook_csv(grade_rows(room.state, self.bench.store), shape, section=room.state.name)

    def class_actions(self) -> list[dict]:
        """Who changed what in the class, and when, newest first."""
        return self._class("see the class's changes", staff=True).actions.recent()

    def report(self, run_id: str) -> str:
        """A run's report: one HTML file that opens offline (``analysis.report``). Any member
        may read any run the Runs page lists them (their class's, and the shared ones)."""
        from resnet_core.analysis.report import run_report  # plotly: loaded for a report only

        require_member(self.user, "make a run's report")
        run = self.bench.store.get(run_id)
        if not self.sees_run(run):
            raise AccessDenied(_("run {run_id} belongs to another class").format(run_id=run_id))
        return run_report(run.dir)

    def vote(self, lesson, choice: int) -> None:
        """Lock in a prediction for ``lesson`` (a Lesson): a student's counts in the class's
        tally; the teacher's, or anyone's in single-user mode, is the page's alone."""
        require_member(self.user, "predict a lesson's answer")
        if self.room is not None and self.user.role == "student":
            self.room.vote(self.user.id, lesson, choice)

    def tally(self, lesson) -> list[int]:
        """How many students predicted each choice of ``lesson`` (the teacher's view)."""
        return self._class("see the class's predictions", staff=True).tally(lesson)

    def open_challenge(self, dataset: str, minutes: float, *, anonymous: bool = False,
                       limits: ClassLimits | None = None) -> Challenge:
        return self._change("open a challenge", lambda room: room.open_challenge(
            dataset, minutes, anonymous=anonymous, limits=limits), f"{dataset}, {minutes:g} min")

    def close_challenge(self, *, reveal: bool = False) -> None:
        self._change("close the challenge", lambda room: room.close_challenge(reveal=reveal),
                     "revealed" if reveal else "", staff=True)

    def reset_class(self) -> list[str]:
        """Forget the roster, lift the lock, close the challenge, and stop every student's
        queued or running run (their folders stay); the runs stopped."""
        room = self._class("reset the class")
        stopped = self._stop_runs_of(set(room.state.roster))
        room.reset()
        room.actions.record(self.user.name, self.user.role, "reset the class", f"{len(stopped)} runs stopped")
        return stopped

    def remove_student(self, student_id: str) -> list[str]:
        """Take a student off the roster (their sessions end, the name is free again) and stop
        their queued or running runs; the runs stopped. Their run folders stay."""
        room = self._class("remove a student")
        name = room.state.roster.get(student_id, student_id)
        stopped = self._stop_runs_of({student_id})
        room.remove_student(student_id)
        room.actions.record(self.user.name, self.user.role, "remove a student", name)
        return stopped

    def rejoin_code(self, student_id: str | None = None) -> str:
        """A one-time code that gets a student back to their name and runs: a student's own,
        or (the teacher) any student's, for one who lost their cookie."""
        require_member(self.user, "get a rejoin code")
        if self.room is None:
            raise WorkbenchError(_("rejoin codes belong to class mode: start the app in class "
                                   "mode"))
        own = student_id in (None, self.user.id)
        if not own:
            return self._class("make another student's rejoin code").rejoin_code(student_id, reissue=True)
        # A student's own code is shown again until used.
        return self.room.rejoin_code(self.user.id, reissue=self.user.is_teacher)

    def _stop_runs_of(self, owner_ids: set[str]) -> list[str]:
        """Stop the queued or running runs these owners own (callers checked the teacher); the
        runs stopped."""
        stopped = [run.id for run in self.bench.store.runs()
                   if run.is_active and run.owner.id in owner_ids]
        for run_id in stopped:
            self.bench.jobs.stop(run_id)
        return stopped

    # -- the course: classes, co-teachers and assistants (the server's teacher) -----------

    def add_class(self, name: str) -> Classroom:
        """Another class (a section) on this server, with its own code, roster and challenge."""
        self._course("add a class")
        room = self.bench.course.add_class(name)
        room.actions.record(self.user.name, self.user.role, "add a class", room.name)
        return room

    def rename_class(self, name: str) -> None:
        self._change("rename the class", lambda room: room.set_name(name), name)

    def add_staff(self, role: str, name: str) -> str:
        """A link (its token) that signs ``name`` in as a co-teacher ("teacher") or an
        assistant of this session's class, until revoked (``Classroom.add_staff``)."""
        self._course("invite a co-teacher or an assistant")
        return self._change("invite an assistant" if role == "assistant" else "invite a co-teacher",
                            lambda room: room.add_staff(role, name), name)

    def revoke_staff(self, link_id: str) -> None:
        self._course("revoke a co-teacher's or an assistant's link")
        room = self._class("revoke a link")
        name = room.revoke_staff(link_id)
        room.actions.record(self.user.name, self.user.role, "revoke a link", name)

    def staff(self) -> list[dict]:
        """The class's co-teachers and assistants: link id, role, name, when the link was made."""
        room = self._class("see the class's teachers", staff=True)
        return [{"link": k, "role": v["role"], "name": v["name"], "made_at": v["made_at"]}
                for k, v in sorted(room.state.staff.items(), key=lambda kv: kv[1]["made_at"])]

    def _course(self, action: str) -> None:
        """The server's teacher (its token) only: they made the classes."""
        require_teacher(self.user, action)
        if self.bench.course is None:
            raise WorkbenchError(_("there is no class to {action}: start the app in class mode").format(
                                     action=action))
        if self.user.class_id != ALL_CLASSES:
            raise AccessDenied(_("only the teacher who runs this server may {action}").format(action=action))

    def _change(self, action: str, change, detail: str = "", *, staff: bool = False):
        """Make a change to the class (its teacher's; with ``staff``, an assistant's too) and
        record who made it (``actions.jsonl``)."""
        room = self._class(action, staff=staff)
        result = change(room)
        room.actions.record(self.user.name, self.user.role, action, detail)
        return result

    def _class(self, action: str, *, staff: bool = False) -> Classroom:
        """This session's class, for one of its teachers (``staff``: or its assistants)."""
        (require_staff if staff else require_teacher)(self.user, action)
        if self.room is None:
            raise WorkbenchError(_("there is no class to {action}: start the app in class mode").format(
                                     action=action))
        if not self.user.teaches(self.class_id):
            raise AccessDenied(_("you teach another class: only its teachers may {action}").format(action=action))
        return self.room


def preflight(config: TrainConfig, *, processes: int = 1, dataset=None) -> str | None:
    """The first reason a run cannot start, as one line, or None: the config's fields, the
    processes this machine has, and (given its dataset) that the weights and the data fit.
    The Train page shows it before the Train button; ``Session.submit`` refuses the same."""
    from resnet_core.device import resolve_device
    from resnet_core.jobs.capacity import check_processes
    from resnet_core.training.recipe import check_fits

    try:
        config.validate()
        check_processes(processes, resolve_device(config.device).type, config.batch_size)
        if dataset is not None:
            check_fits(config, dataset)
    except WorkbenchError as e:
        return str(e)
    return None


_OPEN: dict[Path, Workbench] = {}
_BY_KEY: dict[tuple[str, str], Workbench] = {}
_OPEN_LOCK = threading.Lock()


def open_workbench(runs_dir: str | Path | None = None) -> Workbench:
    """The process's one Workbench for a runs folder ($RESNET_WORKBENCH_RUNS by default),
    made with the settings of the environment (mode, jobs per device, warm worker)."""
    s = settings()
    # Every page rerun asks, many times: resolving the path (a syscall per component) was a
    # tenth of a class server's CPU under load, so each (working folder, path) resolves once.
    key = (os.getcwd(), str(runs_dir if runs_dir is not None else s.runs_dir))
    bench = _BY_KEY.get(key)
    if bench is None:
        root = (Path(key[0]) / key[1]).resolve()
        with _OPEN_LOCK:
            bench = _OPEN.get(root)
            if bench is None:
                course = course_for(root) if s.class_mode else None
                bench = _OPEN[root] = Workbench(root, course=course, max_jobs=s.max_jobs)
            _BY_KEY[key] = bench
    return bench


def close_workbenches(timeout: float = 60.0) -> None:
    """Server exit: close every Workbench of this process (app.py's lifespan)."""
    with _OPEN_LOCK:
        benches = list(_OPEN.values())
        _OPEN.clear()
        _BY_KEY.clear()
    for bench in benches:
        bench.close(timeout)


# -- sweeps in the foreground (notebooks, the CLI) -------------------------------------------


@dataclass
class SweepResult:
    """A finished (or stopped) sweep: its folder, whether it finished, the best trial's run."""

    sweep: Sweep
    finished: bool
    best: dict | None  # {"trial", "value", "run_id", "params"} of the best completed trial
    runs_dir: Path
    overhead_s: float = 0.0  # ask, suggest and tell in this process (benchmarks/sweep.py)

    @property
    def best_run(self):
        """The best trial's Run (None before any trial completed)."""
        from resnet_core.runs.folder import Run

        return Run(self.runs_dir / self.best["run_id"]) if self.best else None

    def table(self):
        """One row per trial (pandas): state, value, epochs, parameters, run id."""
        from resnet_core.sweeps.charts import trial_runs, trial_table, trials_of

        return trial_table(trials_of(self.sweep), trial_runs(self.sweep, RunStore(self.runs_dir).runs()))


def sweep(params: list[str] | None = None, *, trials: int = 16, parallel: int = 1,
          pruner: str = "asha", sampler: str = "tpe", seed: int = 0, name: str | None = None,
          base: TrainConfig | None = None, runs_dir: str | Path | None = None,
          resume: str | None = None, progress: bool = True, live: bool | None = None,
          **train_fields) -> SweepResult:
    """Search hyperparameters here, in the foreground, with the workbench's own queue:

        result = sweep(["lr=log:1e-3:1", "arch=resnet20,resnet32"], trials=16,
                       dataset="digits", epochs=10)
        result.best_run.dir

    ``train_fields`` (or ``base``) are every trial's fixed settings; ``params`` what varies
    (space.py's forms). A progress bar counts finished trials, and in Jupyter a live figure
    draws each trial's validation accuracy per epoch, pruned trials greyed. Ctrl-C (or a
    kernel interrupt) stops the sweep with its trials resumable: ``sweep(resume=ID)``. Beside
    a running app on the same runs folder, the trials go to its queue (its executor trains them).
    """
    from resnet_core.sweeps.progress import SweepProgress
    from resnet_core.sweeps.runner import SweepRunner, stop_trials
    from resnet_core.sweeps.study import create_sweep

    root = Path(runs_dir or (base.runs_dir if base and base.runs_dir else None)
                or settings().runs_dir).resolve()
    if resume is None:
        config = SweepConfig(base=base or TrainConfig(**train_fields), params=list(params or []),
                             trials=trials, parallel=parallel, pruner=pruner, sampler=sampler,
                             seed=seed, name=name).validate()
    else:
        config = get_sweep(root, resume).config
    # The app's slots (RESNET_WORKBENCH_MAX_JOBS) bound the training processes here as there:
    # --parallel 8 once started eight on a 2-core machine. More trials than slots queue.
    slots = min(config.parallel, settings().max_jobs)
    jobs = JobManager(root, max_running_per_device=slots)
    if jobs.read_only is not None:  # a server runs this folder's queue: it trains the trials
        jobs.close()
        jobs = hand_off_to_owner(root)
        slots = config.parallel  # queued at once; the server's slots train them
        print(f"sweep: a server runs the queue of {root}; the trials go to it", file=sys.stderr)
    try:
        if progress:  # once it can start: an error comes alone
            from resnet_core.sweeps.charts import caveats

            if slots < config.parallel:
                print(f"sweep: {config.parallel} trials queued at once, {slots} training at a time "
                      f"({MAX_JOBS}={settings().max_jobs}; raise it to train more at once)", file=sys.stderr)
            for caveat in caveats(config):
                print(f"sweep: {caveat}", file=sys.stderr)
        if resume is None:
            found = create_sweep(root, config)
        else:
            found = get_sweep(root, resume)
            if found.state == "completed":
                raise WorkbenchError(_("sweep {id} has completed all its trials").format(
                                         id=found.id))
            found.set_state("running")
        runner = SweepRunner(found, jobs)
        bar = SweepProgress(config.planned_trials(), bar=progress, widget=live)
        try:
            finished = runner.run(on_pass=bar)
        except KeyboardInterrupt:
            finished = False
        finally:
            bar.close()
        if not finished:
            stop_trials(found, jobs)
        return SweepResult(found, finished, runner.best(), root, runner.overhead_s)
    finally:
        jobs.close()
