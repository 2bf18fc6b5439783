"""job.json: what a queued run's training child should do, and whose run it is.

The one owner of the file's schema: ``JobFile`` is read (``read_job``) and written
(``write_new_job``, ``write_resume_job``, ``set_hold``) here only; the manager, the child, the
class and the sweeps read its typed fields. On disk:

    {"kind": "train" | "lr_find" (absent: train), "steps": int (lr_find's sweep length),
     "resume": bool, "epochs": int | null,
     "max_steps": int | null, "processes": int,
     "owner": {"id", "name"}?, "queued_by": {"id", "name"}?, "challenge": str?,
     "held_by": {"id", "name"}? (the teacher stopped it: only the teacher resumes it),
     "sweep": {"id", "trial"}? (the run is trial number ``trial`` of sweep ``id``),
     "capped": false? (it does not count against a class's queue cap: the teacher's own),
     "class": str? (the class, of a server's several, the run was queued in)}

A run without an owner (the CLI, notebooks, single-user mode) belongs to ``LOCAL_OWNER``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from resnet_core.atomic import atomic_write_json
from resnet_core.errors import RunError
from resnet_core.i18n import _
from resnet_core.runs.jsonl import read_json


@dataclass(frozen=True)
class Owner:
    """Who queued a run, as the queue sees it: an id to take turns by and a name to show.
    The front door makes one from its user (``classroom.access.User.owner``); below it nothing
    knows roles."""

    id: str
    name: str


LOCAL_OWNER = Owner("local", "you")  # single-user mode, the CLI and notebooks
LESSONS_OWNER = Owner("lessons", "lessons")  # the shared lesson runs

KINDS = ("train", "lr_find")  # what the child does with the folder's config.json


@dataclass(frozen=True)
class SweepTrial:
    """The run is trial number ``trial`` of sweep ``id``."""

    id: str
    trial: int


@dataclass(frozen=True)
class JobFile:
    """A run's job.json, typed. ``JobFile()`` is a run the CLI or a notebook trained."""

    kind: str = "train"
    steps: int | None = None  # lr_find: the sweep's length
    resume: bool = False  # continue from checkpoints/last.pt
    epochs: int | None = None  # a resume's new total budget (or max_steps; both None: as before)
    max_steps: int | None = None
    processes: int = 1
    owner: Owner = LOCAL_OWNER
    queued_by: Owner | None = None  # a shared (lesson) run: whose click queued it
    challenge: str | None = None  # the class challenge the run entered
    held_by: Owner | None = None  # the teacher stopped it: only the teacher resumes it
    sweep: SweepTrial | None = None
    capped: bool = True  # counts against a class's queue cap (replicas count from the folder)
    class_id: str | None = None  # the class it was queued in (a server with several classes)

    def budget(self, config: dict) -> dict:
        """``config`` (config.json's dict) with this job's budget: a resume's epochs or
        max_steps replace the run's own, the other one cleared, as ``training.resume`` does."""
        if self.epochs is not None:
            return {**config, "epochs": self.epochs, "max_steps": None}
        if self.max_steps is not None:
            return {**config, "epochs": None, "max_steps": self.max_steps}
        return dict(config)

    def to_dict(self) -> dict:
        """The file's JSON (fields at their defaults left out, as earlier releases wrote it)."""
        out: dict = {"resume": self.resume, "processes": self.processes}
        if self.kind != "train":
            out["kind"] = self.kind
        if self.steps is not None:
            out["steps"] = self.steps
        if self.resume:
            out["epochs"], out["max_steps"] = self.epochs, self.max_steps
        for name in ("owner", "queued_by", "held_by"):
            who = getattr(self, name)
            if who is not None and who.id != LOCAL_OWNER.id:
                out[name] = {"id": who.id, "name": who.name}
        if self.challenge is not None:
            out["challenge"] = self.challenge
        if self.sweep is not None:
            out["sweep"] = {"id": self.sweep.id, "trial": self.sweep.trial}
        if not self.capped:
            out["capped"] = False
        if self.class_id is not None:
            out["class"] = self.class_id
        return out

    @classmethod
    def from_dict(cls, data: object) -> JobFile:
        """The typed file; a one-line RunError for a field of the wrong type."""
        if not isinstance(data, dict):
            raise RunError(_("job.json must hold an object, got {name__}").format(
                               name__=type(data).__name__))
        kind = data.get("kind") or "train"
        if kind not in KINDS:
            raise RunError(_("job.json's kind must be one of {names}, got {kind}").format(
                               names=', '.join(KINDS), kind=f"{kind!r}"))
        sweep = data.get("sweep")
        return cls(kind=kind, steps=_whole(data, "steps"), resume=bool(data.get("resume")),
                   epochs=_whole(data, "epochs"), max_steps=_whole(data, "max_steps"),
                   processes=_whole(data, "processes") or 1,
                   owner=_person(data, "owner") or LOCAL_OWNER,
                   queued_by=_person(data, "queued_by"), challenge=_text(data, "challenge"),
                   held_by=_person(data, "held_by"),
                   sweep=SweepTrial(_text(sweep, "id") or "", _whole(sweep, "trial") or 0)
                   if isinstance(sweep, dict) else None,
                   capped=data.get("capped") is not False, class_id=_text(data, "class"))


def _whole(data: dict, key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RunError(_("job.json's {key} must be a whole number, got {value}").format(
                           key=key, value=f"{value!r}"))
    return value


def _text(data: dict, key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise RunError(_("job.json's {key} must be text, got {value}").format(
                           key=key, value=f"{value!r}"))
    return value


def _person(data: dict, key: str) -> Owner | None:
    who = data.get(key)
    if not who:
        return None
    if not isinstance(who, dict):
        raise RunError(_("job.json's {key} must be {{\"id\", \"name\"}}, got {who}").format(
                           key=key, who=f"{who!r}"))
    return Owner(str(who.get("id") or LOCAL_OWNER.id), str(who.get("name") or LOCAL_OWNER.name))


def read_job(run) -> JobFile:
    """The run's job.json (``JobFile()`` for runs the CLI or a notebook trained); a one-line
    RunError for a file that is not one."""
    if not run.job_path.is_file():
        return JobFile()
    return JobFile.from_dict(read_json(run.job_path))


def set_hold(run, by: Owner | None) -> None:
    """Mark a run as held by ``by`` (a teacher who stopped it); ``None`` lifts the hold."""
    atomic_write_json(run.job_path, replace(read_job(run), held_by=by).to_dict())


def write_new_job(run, *, processes: int, owner: Owner, queued_by: Owner | None = None,
                  challenge: str | None = None, kind: str = "train",
                  steps: int | None = None, sweep: SweepTrial | None = None,
                  capped: bool = True, class_id: str | None = None) -> None:
    """job.json for a new job: train its config.json from the start, or sweep the learning
    rate for it (``kind="lr_find"``)."""
    job = JobFile(kind=kind, steps=steps, processes=processes, owner=owner, queued_by=queued_by,
                  challenge=challenge, sweep=sweep, capped=capped, class_id=class_id)
    atomic_write_json(run.job_path, job.to_dict())


def write_resume_job(run, *, epochs: int | None, max_steps: int | None,
                     processes: int) -> None:
    """job.json for a resume: continue from the last checkpoint (owner and challenge kept)."""
    job = replace(read_job(run), resume=True, epochs=epochs, max_steps=max_steps,
                  processes=processes)
    atomic_write_json(run.job_path, job.to_dict())
