"""A sweep's search space: which TrainConfig fields vary, and over what.

One parameter per field, written as on the command line (``--param lr=log:1e-4:1``):

    lr=log:1e-4:1              log-uniform between the two bounds (0 < low < high)
    label_smoothing=float:0:0.2  uniform between the two bounds
    epochs=int:2:10            an integer between the bounds, both included (int:..:..:log too)
    arch=resnet20,resnet32     one of a list, each value checked as the field checks it
    depth=20,32,56             the paper's depths: shorthand for arch=resnet20,resnet32,resnet56

Every mistake is one line (ConfigError) that names the parameter and what is accepted.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass

from resnet_core.errors import ConfigError
from resnet_core.i18n import _
from resnet_core.training.config import TrainConfig
from resnet_core.training.models import ARCHS

# Fields a sweep may not vary: where the data and the runs live, what runs them, and the
# dataset (the sweep's own, so that every trial answers the same question).
FIXED = ("dataset", "data_root", "download", "runs_dir", "run_name", "device", "init_from",
         "num_threads", "num_workers", "pretrained")
KINDS = ("log", "float", "int")
FIELD_TYPES = typing.get_type_hints(TrainConfig)
SEARCHABLE = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name not in FIXED)
FORMS = "NAME=log:LOW:HIGH, NAME=float:LOW:HIGH, NAME=int:LOW:HIGH or NAME=A,B,C"


@dataclass(frozen=True)
class Param:
    """One searched field: a range (``kind`` log, float or int) or a list of ``choices``."""

    name: str
    kind: str  # "log" | "float" | "int" | "choice"
    low: float | None = None
    high: float | None = None
    log: bool = False  # int ranges: sample on a log scale
    choices: tuple = ()

    def suggest(self, trial):
        """This parameter's value for an Optuna trial (recorded in the trial's params)."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.kind == "log")

    def grid(self) -> list:
        """The values a grid search tries: the choices, or every integer of an int range."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int" and not self.log:
            return list(range(int(self.low), int(self.high) + 1))
        raise ConfigError(_("grid search takes lists of values; {name} is a {kind} range: give "
                            "{name}=A,B,C or use --sampler tpe or random").format(
                              name=self.name, kind=self.kind))

    def spec(self) -> str:
        """The parameter as the command line writes it (the inverse of ``parse_param``)."""
        if self.kind == "choice":
            return f"{self.name}=" + ",".join(str(c) for c in self.choices)
        tail = ":log" if self.log else ""
        return f"{self.name}={self.kind}:{self.low:g}:{self.high:g}{tail}"


def parse_param(text: str, base: TrainConfig | None = None) -> Param:
    """``"lr=log:1e-4:1"`` -> Param; each bound or choice checked against TrainConfig's own
    rules on ``base`` (the sweep's fixed settings)."""
    base = base or TrainConfig()
    name, sep, body = str(text).partition("=")
    name, body = name.strip().replace("-", "_"), body.strip()
    if not sep or not name or not body:
        raise ConfigError(_("--param {text}: write {FORMS}").format(text=f"{text!r}", FORMS=FORMS))
    if name == "depth":
        return _depths(text, body, base)
    if name not in SEARCHABLE:
        reason = "is fixed for a whole sweep" if name in FIXED else "is not a training setting"
        raise ConfigError(_("--param {text}: {name} {reason}; searchable: {names}").format(
                              text=f"{text!r}", name=name, reason=reason, names=', '.join(SEARCHABLE)))
    kind = body.split(":", 1)[0]
    if ":" in body and kind in KINDS:
        return _range(text, name, body, base)
    return _choices(text, name, body, base)


def _range(text: str, name: str, body: str, base: TrainConfig) -> Param:
    parts = body.split(":")
    kind = parts[0]
    log = len(parts) == 4 and parts[3] == "log" and kind == "int"
    if len(parts) != 3 and not log:
        raise ConfigError(f"--param {text!r}: a range is {kind}:LOW:HIGH"
                          + (" (or int:LOW:HIGH:log)" if kind == "int" else ""))
    try:
        low, high = (int(p) if kind == "int" else float(p) for p in parts[1:3])
    except ValueError:
        number = "integers" if kind == "int" else "numbers"
        raise ConfigError(_("--param {text}: the bounds must be {number}, got {value} and "
                            "{value2}").format(
                              text=f"{text!r}", number=number, value=f"{parts[1]!r}", value2=f"{parts[2]!r}")) from None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise ConfigError(_("--param {text}: a range needs LOW < HIGH, got {low} and {high}").format(
                              text=f"{text!r}", low=f"{low:g}", high=f"{high:g}"))
    if (kind == "log" or log) and low <= 0:
        raise ConfigError(_("--param {text}: a log range needs 0 < LOW < HIGH, got {low} and "
                            "{high}").format(text=f"{text!r}", low=f"{low:g}", high=f"{high:g}"))
    wanted = _field_kind(name)
    if wanted not in ("int", "float") or (kind == "int") != (wanted == "int"):
        allowed = "A,B,C" if wanted not in ("int", "float") else (
            "int:LOW:HIGH" if wanted == "int" else "log:LOW:HIGH or float:LOW:HIGH")
        raise ConfigError(_("--param {text}: {name} takes {allowed}").format(
                              text=f"{text!r}", name=name, allowed=allowed))
    for bound in (low, high):
        _check_value(text, name, bound, base)
    return Param(name, kind, float(low), float(high), log=log)


def _choices(text: str, name: str, body: str, base: TrainConfig) -> Param:
    raw = [c.strip() for c in body.split(",")]
    if not any(raw):
        raise ConfigError(_("--param {text}: the list of values is empty; write {name}=A,B,C").format(
                              text=f"{text!r}", name=name))
    if not all(raw):
        raise ConfigError(_("--param {text}: an empty value in the list; write {name}=A,B,C").format(
                              text=f"{text!r}", name=name))
    values = tuple(dict.fromkeys(_convert(text, name, c) for c in raw))
    for value in values:
        _check_value(text, name, value, base)
    return Param(name, "choice", choices=values)


def _depths(text: str, body: str, base: TrainConfig) -> Param:
    archs = []
    for d in (c.strip() for c in body.split(",")):
        if f"resnet{d}" not in ARCHS:
            depths = ", ".join(a.removeprefix("resnet") for a in ARCHS)
            raise ConfigError(_("--param {text}: no ResNet of depth {d}; depths: {depths}").format(
                                  text=f"{text!r}", d=f"{d!r}", depths=depths))
        archs.append(f"resnet{d}")
    return _choices(text, "arch", ",".join(archs), base)


def _field_kind(name: str) -> str:
    """"int", "float", "bool" or "str": the field's type (int | None counts as int)."""
    hint = FIELD_TYPES[name]
    for kind in (bool, int, float, str):  # bool before int: a bool is an int to Python
        if hint is kind or kind in typing.get_args(hint):
            return kind.__name__
    return "str"


def _convert(text: str, name: str, raw: str):
    kind = _field_kind(name)
    try:
        if kind == "bool":
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return raw.lower() in ("true", "1", "yes")
        return {"int": int, "float": float, "str": str}[kind](raw)
    except ValueError:
        accepted = "true or false" if kind == "bool" else f"{kind} values"
        raise ConfigError(_("--param {text}: {name} takes {accepted}, got {raw}").format(
                              text=f"{text!r}", name=name, accepted=accepted, raw=f"{raw!r}")) from None


def _check_value(text: str, name: str, value, base: TrainConfig) -> None:
    """TrainConfig's own check of ``value`` for ``name``, its message prefixed with the param."""
    try:
        dataclasses.replace(base, **{name: value}).validate()
    except ConfigError as e:
        raise ConfigError(_("--param {text}: {e}").format(text=f"{text!r}", e=e)) from None


@dataclass(frozen=True)
class SearchSpace:
    """The searched fields of a sweep, each at most once."""

    params: tuple[Param, ...]

    @classmethod
    def parse(cls, specs, base: TrainConfig | None = None) -> SearchSpace:
        params = tuple(parse_param(s, base) for s in specs)
        if not params:
            raise ConfigError(_("a sweep needs at least one --param ({FORMS})").format(FORMS=FORMS))
        names = [p.name for p in params]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(_("--param {value} is given more than once; give each field once").format(
                                  value=twice[0]))
        return cls(params)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def suggest(self, trial) -> dict:
        """{field: value} for an Optuna trial."""
        return {p.name: p.suggest(trial) for p in self.params}

    def grid(self) -> dict[str, list]:
        """The grid sampler's search space ({field: values})."""
        return {p.name: p.grid() for p in self.params}

    def grid_size(self) -> int:
        return math.prod(len(v) for v in self.grid().values())

    def specs(self) -> list[str]:
        return [p.spec() for p in self.params]


# The Sweep page's form: the fields it offers to search, each with the search it starts from
# (a field not searched keeps TrainConfig's default), and the values its lists offer.
FORM_SEARCH = {
    "lr": Param("lr", "log", 1e-3, 1.0),
    "weight_decay": Param("weight_decay", "log", 1e-5, 1e-2),
    "label_smoothing": Param("label_smoothing", "float", 0.0, 0.2),
    "arch": Param("arch", "choice", choices=("resnet8", "resnet14", "resnet20")),
    "batch_size": Param("batch_size", "choice", choices=(64, 128)),
    "optimizer": Param("optimizer", "choice", choices=("sgd", "adamw")),
    "scheduler": Param("scheduler", "choice", choices=("cosine", "onecycle")),
    "norm": Param("norm", "choice", choices=("batch", "layer")),
    "augment": Param("augment", "choice", choices=(True, False)),
}
BATCH_SIZES = (16, 32, 64, 128, 256, 512)


def form_options(name: str) -> list:
    """The values a list over ``name`` may hold on the Sweep page."""
    from resnet_core.training.config import CHOICES

    if name == "batch_size":
        return list(BATCH_SIZES)
    if FIELD_TYPES[name] is bool or FIELD_TYPES[name] == "bool":
        return [True, False]
    return list(CHOICES[name])
