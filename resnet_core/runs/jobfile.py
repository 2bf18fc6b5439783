"""job.json: what a queued run's training child should do, and whose run it is.

The one owner of the file's schema (the manager writes it, the child and the class read it; ``run`` is a ``runs.folder.Run``):

    {"kind": "train" | "lr_find" (absent: train), "steps": int (lr_find's sweep length),
     "resume": bool, "epochs": int | null,
     "max_steps": int | null, "processes": int,
     "owner": {"id", "name"}?, "queued_by": {"id", "name"}?, "challenge": str?,
     "held_by": {"id", "name"}? (the teacher stopped it: only the teacher resumes it),
     "sweep": {"id", "trial"}? (the run is trial number ``trial`` of sweep ``id``)}

A run without an owner (the CLI, notebooks, single-user mode) belongs to ``LOCAL_OWNER``.
"""

from __future__ import annotations

from dataclasses import dataclass

from resnet_core.atomic import atomic_write_json
from resnet_core.runs.jsonl import read_json


@dataclass(frozen=True)
class Owner:
    """Who queued a run, as the queue sees it: an id to take turns by and a name to show.
    ``classroom.access.User`` is one (it has both); the queue never looks at roles."""

    id: str
    name: str


LOCAL_OWNER = Owner("local", "you")  # single-user mode, the CLI and notebooks
LESSONS_OWNER = Owner("lessons", "lessons")  # the shared lesson runs


def _person(who) -> dict:
    return {"id": str(who.id), "name": str(who.name)}


def owner_of(job: dict) -> dict:
    """A run's owner from its job.json ({"id", "name"}); runs without one are local."""
    owner = job.get("owner") or {}
    return {"id": str(owner.get("id") or LOCAL_OWNER.id),
            "name": str(owner.get("name") or LOCAL_OWNER.name)}


def challenge_of(job: dict) -> str | None:
    """The class challenge a run entered (its id), or None."""
    return job.get("challenge")


def held_by(job: dict) -> dict | None:
    """Who stopped the run and holds it ({"id", "name"}), or None."""
    return job.get("held_by")


def set_hold(run, by) -> None:
    """Mark a run as held by ``by`` (a teacher who stopped it); ``None`` lifts the hold."""
    job = {k: v for k, v in read_job(run).items() if k != "held_by"}
    if by is not None:
        job["held_by"] = _person(by)
    atomic_write_json(run.job_path, job)


def read_job(run) -> dict:
    """The run's job.json ({} for runs the CLI or a notebook trained)."""
    return read_json(run.job_path)


KINDS = ("train", "lr_find")  # what the child does with the folder's config.json


def write_new_job(run, *, processes: int, owner, queued_by=None,
                  challenge: str | None = None, kind: str = "train",
                  steps: int | None = None, sweep: dict | None = None) -> None:
    """job.json for a new job: train its config.json from the start, or sweep the learning
    rate for it (``kind="lr_find"``)."""
    job: dict = {"resume": False, "processes": processes}
    if kind != "train":
        job["kind"] = kind
    if steps is not None:
        job["steps"] = steps
    if owner.id != LOCAL_OWNER.id:
        job["owner"] = _person(owner)
    if queued_by is not None and queued_by.id != LOCAL_OWNER.id:
        job["queued_by"] = _person(queued_by)
    if challenge is not None:
        job["challenge"] = challenge
    if sweep is not None:
        job["sweep"] = {"id": str(sweep["id"]), "trial": int(sweep["trial"])}
    atomic_write_json(run.job_path, job)


def sweep_of(job: dict) -> dict | None:
    """The sweep trial a run is ({"id", "trial"}), or None."""
    return job.get("sweep")


def write_resume_job(run, *, epochs: int | None, max_steps: int | None,
                     processes: int) -> None:
    """job.json for a resume: continue from the last checkpoint (owner and challenge kept)."""
    atomic_write_json(run.job_path, {**read_job(run), "resume": True, "epochs": epochs,
                                     "max_steps": max_steps, "processes": processes})


