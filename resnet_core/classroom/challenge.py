"""A class challenge: what students may submit (``ClassLimits``), the challenge itself, its
entries and leaderboard, and the checks a submission passes (the queue cap, free memory).
``Classroom`` keeps the open challenge in class.json; the rules are here."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta, timezone

from resnet_core.data.registry import DATASETS
from resnet_core.errors import ConfigError, RunError
from resnet_core.i18n import _
from resnet_core.training.config import MAXIMUMS, TrainConfig
from resnet_core.training.models import ARCHS

# What each of ClassLimits' numbers may be set to (validate, and the Teacher page's fields).
LIMIT_BOUNDS = {"max_epochs": (1, MAXIMUMS["epochs"]), "max_steps": (1, MAXIMUMS["max_steps"]),
                "max_image_size": (8, MAXIMUMS["image_size"]),
                "max_batch_size": (1, MAXIMUMS["batch_size"]), "active_per_student": (1, 100),
                "active_per_address": (1, 10_000),
                "lesson_runs_per_student": (1, 100), "queue_cap": (1, 10_000)}
CHALLENGE_MINUTES = (1, 7 * 24 * 60)  # how long a challenge may stay open


@dataclass(frozen=True)
class ClassLimits:
    """What a student may submit; the teacher's own runs are not limited."""

    architectures: tuple[str, ...] = ("resnet20", "resnet32", "resnet44", "resnet56")
    max_epochs: int = 30
    max_steps: int = 3000
    max_image_size: int = 64
    max_batch_size: int = 512
    active_per_student: int = 1  # queued or running
    # Queued or running runs of every name joined from one address (an IPv6 /64): forty names
    # made from one machine queue no more than this. A class behind one NAT address needs more.
    active_per_address: int = 4
    lesson_runs_per_student: int = 7  # shared lesson runs a student's clicks have going (a lesson's set)
    # Queued or running on the server: every student's runs and the lesson runs together (the
    # teacher's own runs and sweep trials are not counted: they never lock students out).
    queue_cap: int = 40

    def validate(self) -> ClassLimits:
        unknown = [a for a in self.architectures if a not in ARCHS]
        if unknown or not self.architectures:
            raise ConfigError(_("architectures must be some of {names}; got {value}").format(
                                  names=', '.join(ARCHS), value=unknown or 'none'))
        for name, (low, top) in LIMIT_BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= top:
                raise ConfigError(_("{name} must be a whole number from {low} to {top}, got "
                                    "{value}").format(
                                      name=name, low=low, top=f"{top:,}", value=f"{value!r}"))
        return self

    def check(self, config: TrainConfig) -> None:
        """A one-line error naming what is accepted, for the first setting out of bounds."""
        if config.arch not in self.architectures:
            raise ConfigError(_("this class allows the architectures {names}; got {arch}").format(
                                  names=', '.join(self.architectures), arch=config.arch))
        size = config.image_size or DATASETS[config.dataset].image_size or 64
        for name, value, top in (("epochs", config.epochs, self.max_epochs),
                                 ("max_steps", config.max_steps, self.max_steps),
                                 ("image_size", size, self.max_image_size),
                                 ("batch_size", config.batch_size, self.max_batch_size)):
            if value is not None and value > top:
                raise ConfigError(_("this class allows {name} up to {top}; got {value}").format(
                                      name=name, top=f"{top:,}", value=f"{value:,}"))
        if config.epochs is None and config.max_steps is None:
            raise ConfigError(_("give epochs (up to {max_epochs}) or max_steps (up to "
                                "{max_steps})").format(
                                  max_epochs=self.max_epochs, max_steps=self.max_steps))

    @classmethod
    def from_dict(cls, data: dict) -> ClassLimits:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "architectures" in values:
            values["architectures"] = tuple(values["architectures"])
        return cls(**values)


@dataclass(frozen=True)
class Challenge:
    """One class challenge: a dataset, limits, a closing time; entries are students' runs."""

    id: str
    dataset: str
    closes_at: str  # ISO 8601, UTC
    limits: ClassLimits = field(default_factory=ClassLimits)
    metric: str = "test_accuracy"  # ranked by it (higher first), then by training time
    anonymous: bool = False  # the leaderboard shows "Student 1, 2, ..." instead of names
    revealed: bool = False  # after closing, the teacher shows every entry's configuration

    def is_open(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(timezone.utc)) < datetime.fromisoformat(self.closes_at)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Challenge:
        return cls(**{**data, "limits": ClassLimits.from_dict(data.get("limits") or {})})


def challenge_entries(c: Challenge | None, store) -> list[dict]:
    """The challenge's entries among the runs of ``store``, best first: test accuracy
    (higher), then training seconds (fewer); runs without a result yet follow. A run the
    teacher stopped (held) is no entry."""
    if c is None:
        return []
    rows = []
    for run in store.runs():
        job = run.job
        if job.challenge != c.id or job.held_by is not None:  # the teacher stopped it
            continue
        rows.append({"run_id": run.id, "owner_id": job.owner.id, "name": job.owner.name,
                     "state": run.state, **run.result(), "config": run.config})
    rows.sort(key=lambda r: (r["test_accuracy"] is None, -(r["test_accuracy"] or 0),
                             r["train_seconds"] or 0))
    if c.anonymous:
        aliases: dict[str, str] = {}
        for row in sorted(rows, key=lambda r: r["run_id"]):
            aliases.setdefault(row["owner_id"], f"Student {len(aliases) + 1}")
        for row in rows:
            row["name"] = aliases[row["owner_id"]]
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank if row["test_accuracy"] is not None else None
    return rows


def leaderboard(entries: list[dict]) -> list[dict]:
    """One row per student, their best entry (``entries`` is best first), ranked."""
    best: dict[str, dict] = {}
    counts: dict[str, int] = {}
    for row in entries:
        counts[row["owner_id"]] = counts.get(row["owner_id"], 0) + 1
        if row["test_accuracy"] is not None:
            best.setdefault(row["owner_id"], row)
    rows = [{"rank": rank, "name": row["name"], "test_accuracy": row["test_accuracy"],
             "train_seconds": row["train_seconds"], "run_id": row["run_id"],
             "entries": counts[row["owner_id"]]}
            for rank, row in enumerate(best.values(), 1)]
    return rows


# Settings a student may choose in a challenge; the rest of a config is the same for all.
CHALLENGE_FIELDS = ("arch", "optimizer", "lr", "scheduler", "batch_size", "epochs", "max_steps",
                    "augment", "weight_decay", "momentum", "label_smoothing", "residual", "norm",
                    "activation", "seed", "image_size")


def config_changes(winner: dict, other: dict) -> dict[str, str]:
    """What ``other`` set differently from the winner: {field: "other (winner: value)"}."""
    return {f: f"{other.get(f)} (winner: {winner.get(f)})" for f in CHALLENGE_FIELDS
            if other.get(f) != winner.get(f)}


def check_queue(limits: ClassLimits, active_total: int) -> None:
    if active_total >= limits.queue_cap:
        raise RunError(_("the class queue is full ({active_total} runs queued or running, the "
                         "cap is {queue_cap}); try again when one finishes").format(
                           active_total=active_total, queue_cap=limits.queue_cap))


def check_entry(c: Challenge | None, limits: ClassLimits, config: TrainConfig, *, active_of_owner: int,
                active_of_address: int, active_total: int) -> str:
    """A student's run as an entry of the open challenge ``c``, under the class's ``limits``:
    the challenge's id, or a one-line error that says what is accepted."""
    from resnet_core.analysis.planning import check_memory

    if c is None or not c.is_open():
        raise RunError(_("students submit runs during a class challenge; none is open now"))
    if config.dataset != c.dataset:
        raise ConfigError(_("this challenge trains on {dataset}, got {dataset2}").format(
                              dataset=c.dataset, dataset2=config.dataset))
    c.limits.check(config)  # before the memory estimate: it builds the model asked for
    check_memory(config)
    if active_of_owner >= c.limits.active_per_student:
        raise RunError(_("you have {active_of_owner} run(s) queued or running; the class "
                         "allows {active_per_student} at a time: wait for it or stop it").format(
                           active_of_owner=active_of_owner, active_per_student=c.limits.active_per_student))
    if active_of_address >= c.limits.active_per_address:
        raise RunError(_("the names joined from your address have {active_of_address} "
                         "run(s) queued or running; the class allows {active_per_address} "
                         "per address at a time: wait for one to finish, or ask your teacher").format(
                           active_of_address=active_of_address, active_per_address=c.limits.active_per_address))
    check_queue(limits, active_total)
    return c.id


def new_challenge(dataset: str, minutes: float, limits: ClassLimits, *, anonymous: bool = False) -> Challenge:
    """A challenge on ``dataset`` open for ``minutes`` from now, under ``limits``."""
    from resnet_core.data.registry import BUILT_IN

    if dataset not in BUILT_IN:
        raise ConfigError(_("a challenge's dataset is one of {names}, got {dataset}").format(
                              names=', '.join(BUILT_IN), dataset=f"{dataset!r}"))
    if not CHALLENGE_MINUTES[0] <= minutes <= CHALLENGE_MINUTES[1]:
        raise ConfigError(_("a challenge lasts 1 minute to 7 days, got {minutes} minutes").format(
                              minutes=minutes))
    closes = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    return Challenge(id=f"c-{secrets.token_hex(4)}", dataset=dataset, closes_at=closes.isoformat(timespec="seconds"),
                     limits=limits.validate(), anonymous=anonymous)


def check_lesson_runs(limits: ClassLimits, active_total: int, *, limited: bool, queued_by_active: int = 0,
                      adding: int = 1) -> None:
    """For ``adding`` shared (lesson) runs a member's click queues: the queue cap, and when
    ``limited`` (a student's click) the lesson runs their clicks may have queued or running."""
    if limited and queued_by_active + adding > limits.lesson_runs_per_student:
        raise RunError(_("lesson runs you started are {queued_by_active} queued or "
                         "running and the class allows {lesson_runs_per_student} at a "
                         "time; wait for them to finish (or watch a classmate's)").format(
                           queued_by_active=queued_by_active, lesson_runs_per_student=limits.lesson_runs_per_student))
    check_queue(limits, active_total)
