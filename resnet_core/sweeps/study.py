"""A sweep on disk: its settings (sweep.json) and its Optuna study (a journal file), in
``<runs>/.sweeps/<id>/``.

The study lives in Optuna's journal file storage, which several processes may append to
without a database server (SQLite is what Optuna's FAQ warns against for parallel writers):
the process that runs the sweep asks and tells, each trial's training child reports its
validation accuracy per epoch and asks whether to stop. The trials' runs are ordinary run
folders in the runs folder; job.json's ``sweep`` ({"id", "trial"}) ties each to its trial.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from resnet_core.atomic import atomic_write_json
from resnet_core.errors import ConfigError, RunError
from resnet_core.i18n import _
from resnet_core.runs.folder import RUN_ID_PATTERN, SWEEPS_DIR, Run, now_iso, read_json
from resnet_core.runs.jobfile import LOCAL_OWNER, Owner
from resnet_core.sweeps.space import SearchSpace
from resnet_core.training.config import TrainConfig

PRUNERS = ("asha", "median", "hyperband", "none")
SAMPLERS = ("tpe", "random", "grid")
SWEEP_STATES = ("running", "stopped", "completed")
SWEEP_FILE = "sweep.json"
JOURNAL_FILE = "journal.log"
METRIC = "best validation accuracy"  # what every sweep maximises (the test split stays unseen)
MAX_TRIALS, MAX_PARALLEL = 1000, 64


@dataclass
class SweepConfig:
    """What to search: the fixed settings (``base``), the searched fields (``params``, in the
    command line's form), how many trials, how many at once, the pruner and the sampler."""

    base: TrainConfig = field(default_factory=TrainConfig)  # every trial's settings but the searched
    params: list[str] = field(default_factory=list)  # "lr=log:1e-4:1", "arch=resnet20,resnet32"
    trials: int = 16  # trials to run (a grid: at most its size)
    parallel: int = 1  # trials queued at once (the queue runs as many as the device allows)
    pruner: str = "asha"  # asha (successive halving) | median | hyperband | none
    sampler: str = "tpe"  # tpe | random | grid
    seed: int = 0  # the sampler's seed (every trial also trains with base.seed)
    name: str | None = None  # a label

    def validate(self) -> SweepConfig:
        self.base.validate()
        _choice("pruner", self.pruner, PRUNERS)
        _choice("sampler", self.sampler, SAMPLERS)
        for name, value, top in (("trials", self.trials, MAX_TRIALS),
                                 ("parallel", self.parallel, MAX_PARALLEL)):
            if not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= top):
                raise ConfigError(_("{name} must be an integer from 1 to {top}, got {value}").format(
                                      name=name, top=top, value=f"{value!r}"))
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(_("seed must be an integer >= 0, got {seed}").format(
                                  seed=f"{self.seed!r}"))
        if self.base.resolved_epochs() is None:
            raise ConfigError(_("a sweep's trials train for --epochs (the pruner decides at "
                                "epoch ends), not --max-steps"))
        space = self.space()
        if self.sampler == "grid":
            space.grid()  # raises for ranges
        return self

    def space(self) -> SearchSpace:
        return SearchSpace.parse(self.params, self.base)

    @property
    def epochs(self) -> int:
        return int(self.base.resolved_epochs())

    def planned_trials(self) -> int:
        """The trials this sweep will run: ``trials``, or fewer when a grid is smaller."""
        if self.sampler == "grid":
            return min(self.trials, self.space().grid_size())
        return self.trials

    def to_dict(self) -> dict:
        return {"base": self.base.to_dict(), "params": list(self.params), "trials": self.trials,
                "parallel": self.parallel, "pruner": self.pruner, "sampler": self.sampler,
                "seed": self.seed, "name": self.name}

    @classmethod
    def from_dict(cls, d: dict) -> SweepConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known and k != "base"}
        return cls(base=TrainConfig.from_dict(d.get("base") or {}), **kwargs)


def _choice(name: str, value, allowed: tuple) -> None:
    if value not in allowed:
        raise ConfigError(_("{name} must be one of: {names}; got {value}").format(
                              name=name, names=', '.join(allowed), value=f"{value!r}"))


def make_pruner(config: SweepConfig):
    """The Optuna pruner for ``config``: ASHA is successive halving with rungs at epochs 1, 3,
    9, ... (each keeps the best third of the trials that reached it)."""
    import optuna

    if config.pruner == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if config.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=config.epochs,
                                              reduction_factor=3)
    if config.pruner == "median":
        # The median of the trials so far at the same epoch, once a few have finished.
        return optuna.pruners.MedianPruner(n_startup_trials=max(1, min(5, config.trials // 4)),
                                           n_warmup_steps=0)
    return optuna.pruners.NopPruner()


def make_sampler(config: SweepConfig, asked: int = 0):
    """The sweep's sampler for a study that already has ``asked`` trials. Its seed moves on by
    that many: a sampler seeded as at the start draws the start's configurations again (a
    sweep resumed after 3 trials gave trials 3, 4, 5 the lr and arch of 0, 1, 2)."""
    import optuna

    seed = config.seed + asked
    if config.sampler == "grid":
        return optuna.samplers.GridSampler(config.space().grid(), seed=seed)
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


class Sweep:
    """One sweep's folder: ``sweep.json`` (its settings, state and timestamps) and the Optuna
    journal. Opening the study reads the journal; only the process that runs the sweep (the
    one holding the runs folder's lock) asks and tells."""

    def __init__(self, path: str | Path) -> None:
        self.dir = Path(path)

    @property
    def id(self) -> str:
        return self.dir.name

    @property
    def file(self) -> Path:
        return self.dir / SWEEP_FILE

    @property
    def journal(self) -> Path:
        return self.dir / JOURNAL_FILE

    @property
    def info(self) -> dict:
        info = read_json(self.file)
        if not info:
            raise RunError(_("{dir} is not a sweep folder (no {SWEEP_FILE})").format(
                               dir=self.dir, SWEEP_FILE=SWEEP_FILE))
        return info

    @property
    def config(self) -> SweepConfig:
        return SweepConfig.from_dict(self.info["config"])

    @property
    def owner(self) -> Owner:
        """Who started the sweep (its trials' runs are theirs)."""
        who = self.info.get("owner") or {}
        return Owner(str(who.get("id") or LOCAL_OWNER.id), str(who.get("name") or LOCAL_OWNER.name))

    @property
    def limited(self) -> bool:
        """Whether the class's student limits bound its trials, as the front door decided when
        the sweep was started or resumed (a sweep written before issue 36 says nothing: only
        the teacher could start one, so it is not)."""
        return bool(self.info.get("limited", False))

    @property
    def state(self) -> str:
        return self.info.get("state", "running")

    def set_state(self, state: str, **fields) -> None:
        _choice("sweep state", state, SWEEP_STATES)
        atomic_write_json(self.file, {**self.info, "state": state, "updated_at": now_iso(), **fields})

    def storage(self):
        """Optuna's journal storage on this sweep's file (appends take a lock file beside it)."""
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

        return JournalStorage(JournalFileBackend(
            str(self.journal), lock_obj=JournalFileOpenLock(str(self.journal) + ".lock")))

    def study(self, config: SweepConfig | None = None, storage=None):
        """The Optuna study, with this sweep's sampler and pruner."""
        import optuna

        config = config or self.config
        storage = storage or self.storage()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        asked = len(storage.get_all_trials(storage.get_study_id_from_name(self.id), deepcopy=False))
        return optuna.load_study(study_name=self.id, storage=storage,
                                 sampler=make_sampler(config, asked), pruner=make_pruner(config))


def create_sweep(root: str | Path, config: SweepConfig, *, owner: Owner = LOCAL_OWNER,
                 limited: bool = False) -> Sweep:
    """A new sweep folder under ``<root>/.sweeps/``: sweep.json, then the study in the journal.
    ``owner`` (who started it) owns its trials' runs and ``limited`` says whether the class's
    student limits bound them, also after a restart (sweep.json keeps both)."""
    import optuna

    config.validate()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    label = (config.name or config.base.dataset).replace(" ", "-")
    sweep_id = f"{stamp}-sweep-{label}-{secrets.token_hex(2)}"
    if not RUN_ID_PATTERN.match(sweep_id):
        raise ConfigError(_("sweep name {name}: use letters, digits, '.', '_' and '-'").format(
                              name=f"{config.name!r}"))
    sweep = Sweep(Path(root) / SWEEPS_DIR / sweep_id)
    sweep.dir.mkdir(parents=True)
    atomic_write_json(sweep.file, {"id": sweep_id, "state": "running", "created_at": now_iso(),
                                   "metric": METRIC, "owner": {"id": owner.id, "name": owner.name},
                                   "limited": limited,
                                   "config": config.to_dict()})
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(study_name=sweep_id, storage=sweep.storage(), direction="maximize",
                        sampler=make_sampler(config), pruner=make_pruner(config))
    return sweep


def list_sweeps(root: str | Path) -> list[Sweep]:
    """The sweeps in a runs folder, newest first."""
    folder = Path(root) / SWEEPS_DIR
    if not folder.is_dir():
        return []
    return sorted((Sweep(p) for p in folder.iterdir() if (p / SWEEP_FILE).is_file()),
                  key=lambda s: s.id, reverse=True)


def get_sweep(root: str | Path, sweep_id: str) -> Sweep:
    """The sweep ``sweep_id`` (a folder name, or a unique prefix / suffix of one)."""
    sweeps = list_sweeps(root)
    exact = [s for s in sweeps if s.id == sweep_id]
    found = exact or [s for s in sweeps if sweep_id and (sweep_id in s.id)]
    if len(found) != 1:
        known = ", ".join(s.id for s in sweeps[:5]) or "none"
        why = "several sweeps match" if found else "no sweep"
        raise RunError(_("{why} {sweep_id} in {value} (newest: {known})").format(
                           why=why, sweep_id=f"{sweep_id!r}", value=Path(root) / SWEEPS_DIR, known=known))
    return found[0]


def trial_runs(sweep: Sweep, runs) -> dict[int, Run]:
    """{trial number: Run} among ``runs`` (job.json's ``sweep`` field says which is which)."""
    found = {}
    for run in runs:
        tag = run.job.sweep
        if tag is not None and tag.id == sweep.id:
            found[tag.trial] = run
    return found
