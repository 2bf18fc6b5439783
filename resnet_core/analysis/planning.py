"""What a run will cost before it trains, worked out once for everyone who asks: the Train
page (its tiles and its memory line), the CLI (the estimate it prints before training) and a
class server (refusing a student's run that would not fit in memory).

``plan(config, ...)`` builds the config's model once and returns a ``Plan``: parameters, FLOPs,
the time per epoch and in all (history first, else the calibrated step model: ``cost.py``),
and the memory of one training step against the memory free on the device now.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

from resnet_core.analysis.cost import (
    MemoryEstimate,
    ModelCost,
    available_memory,
    estimate_cost,
    estimate_memory,
)
from resnet_core.errors import ConfigError
from resnet_core.events import Callback
from resnet_core.i18n import _
from resnet_core.runs.progress import duration
from resnet_core.training.config import TrainConfig

LONG_RUN_S = 5 * 60  # past this, the CLI's estimate says how to stop and resume


@dataclass(frozen=True)
class Plan:
    """A config's cost on this machine. ``cost`` is None when only the memory was asked for."""

    config: TrainConfig
    device: str  # "cpu" or "cuda"
    memory: MemoryEstimate
    free_bytes: int  # memory free on the device when planned
    cost: ModelCost | None = None
    epochs: float | None = None  # the run's budget in epochs (steps over steps per epoch)
    levers: dict[str, float] = dataclasses.field(default_factory=dict)  # {"tta": seconds, ...}:
    # what each of the run's accuracy levers adds to its time, included in total_seconds

    @property
    def peak_bytes(self) -> int:
        return self.memory.peak(self.config.batch_size)

    @property
    def largest_batch(self) -> int:
        """The largest batch whose step fits in the memory free now."""
        return self.memory.largest_batch(self.free_bytes)

    @property
    def fits(self) -> bool:
        return self.peak_bytes <= self.free_bytes

    @property
    def seconds_per_epoch(self) -> float | None:
        return self.cost.seconds_per_epoch if self.cost is not None else None

    @property
    def total_seconds(self) -> float | None:
        if self.seconds_per_epoch is None or self.epochs is None:
            return None
        return self.seconds_per_epoch * self.epochs + sum(self.levers.values())

    def memory_line(self) -> str:
        """One sentence: the step's memory at this batch, and the largest batch that fits."""
        return _("Memory for one training step at batch {batch}: about {mib} MiB ({precision}); the largest "
                 "batch that fits in the {device} memory free now: about {largest}.").format(
            batch=self.config.batch_size, mib=f"{self.peak_bytes / 2**20:,.0f}", precision=self._precision(),
            device=self.device.upper(), largest=f"{self.largest_batch:,}")

    def _precision(self) -> str:
        """What the memory figure assumes, said against the precision this run trains in (the
        line said "fp32" beside a recipe that trains in bf16)."""
        import torch

        from resnet_core.device import resolve_amp
        from resnet_core.errors import ConfigError

        try:
            dtype = resolve_amp(self.config.amp, torch.device(self.device))
        except ConfigError:
            dtype = None
        if dtype is None:
            return "fp32"
        name = "bf16" if dtype == torch.bfloat16 else "fp16"
        return _("counted in fp32: an upper bound, {name} autocast keeps about half the activations").format(name=name)

    def memory_problem(self) -> str | None:
        """A one-line refusal when the step would not fit in free memory, else None."""
        if self.fits:
            return None
        return _("batch {batch} of {arch} needs about {need} MiB and {free} MiB is free; use a smaller batch or "
                 "image size").format(batch=self.config.batch_size, arch=self.config.arch,
                                      need=f"{self.peak_bytes / 2**20:,.0f}", free=f"{self.free_bytes / 2**20:,.0f}")

    def estimate_line(self) -> str | None:
        """"about 2 min 50 s per epoch, 23 min 40 s in all on this CPU (basis)", or None
        without a time estimate."""
        if self.seconds_per_epoch is None:
            return None
        line = _("about {duration} per epoch").format(duration=duration(self.seconds_per_epoch))
        if self.total_seconds is not None:
            line += _(", {duration} in all").format(duration=duration(self.total_seconds))
        line = _("{line} on this {device} ({basis})").format(line=line, device=self.device.upper(),
                                                             basis=self.cost.basis_words())
        if self.levers and self.total_seconds is not None:
            line += _("; of which {levers}").format(levers=", ".join(
                f"{LEVER_NAMES[k]} {duration(v)}" for k, v in self.levers.items()))
        return line


def plan(config: TrainConfig, *, num_classes: int, channels: int, size: int,
         train_images: int | None = None, val_images: int = 0, test_images: int = 0,
         epochs: float | None = None, runs=None, calibrate: bool = True,
         device: str | None = None) -> Plan:
    """The cost of ``config`` on input ``channels`` x ``size`` px with ``num_classes`` classes.

    With ``train_images`` also the time: from ``runs`` (a RunStore: this machine's history for
    the same model and input) first, else the step model (calibrated now if ``calibrate``; the
    Train page passes False while a job trains). Without it, only the memory (a class server's
    check: no calibration, no history read)."""
    from resnet_core.device import resolve_device

    device = device or resolve_device(config.device).type
    options = dict(residual=config.residual, norm=config.norm, activation=config.activation,
                   stem=config.model_stem, width=config.width)
    memory = _memory(config.arch, num_classes, channels, size, config.optimizer,
                     tuple(sorted(options.items())))
    cost = None
    if train_images is not None:
        # A form being filled in may hold a batch of 0 for a moment (refused by validation,
        # with its message); the estimate still needs a batch to divide by.
        batch = max(1, config.batch_size)
        if epochs is None:  # the budget in epochs: given, or max_steps over full batches
            steps_per_epoch = max(1, train_images // batch)
            epochs = config.resolved_epochs() or (config.max_steps or 0) / steps_per_epoch
        history = runs.seconds_per_image(config.arch, [channels, size, size], device) if runs else None
        cost = estimate_cost(config.arch, num_classes, channels, size, train_images,
                             val_images=val_images, batch_size=batch, device=device,
                             seconds_per_image=history, calibrate=calibrate, **options)
        if cost.seconds_per_epoch is not None:
            steps = epochs * max(1, train_images // batch)
            levers = lever_seconds(config, cost.seconds_per_epoch, train_images, val_images,
                                   test_images, epochs, steps, (channels, size), num_classes,
                                   tuple(sorted(options.items())), measure=calibrate)
            return Plan(config, device, memory, available_memory(device), cost, epochs, levers)
    return Plan(config, device, memory, available_memory(device), cost, epochs)


# The levers' names as the estimate says them (the config's field names, which the CLI and
# the Train page show too).
LEVER_NAMES = {"tta": "TTA", "ema": "EMA", "erasing": "erasing"}


def lever_seconds(config: TrainConfig, seconds_per_epoch: float, train_images: int,
                  val_images: int, test_images: int, epochs: float, steps: float,
                  shape: tuple[int, int], num_classes: int, options: tuple, *,
                  measure: bool = True) -> dict[str, float]:
    """What the accuracy levers the config turns on add to its run, in seconds.

    TTA: a second forward pass over the validation split every epoch and over the test split
    once; one image's forward pass costs the epoch's time over (3 x train + val) images (a
    training image costs about three forwards). EMA and erasing: their per-step work, timed
    here on this model's weights and a batch of this input (the fastest of seven after a
    warm-up: the first call alone took 56 ms for an EMA update of 0.36 ms), once per process
    and only when ``measure`` (as the step model's calibration: not while a job trains);
    until then they are left out. ``options``: the model's build options, sorted (as plan has them)."""
    levers = {}
    if config.tta:
        forward = seconds_per_epoch / (3 * train_images + val_images)
        levers["tta"] = forward * (val_images * epochs + test_images)
    if config.ema > 0:
        key = (config.arch, num_classes, *shape, options)  # options: the model's, as plan built it
        if measure or key in _timed:
            levers["ema"] = steps * _timed_once(key, _ema_step_seconds)
    if config.erasing > 0:
        key = (config.batch_size, *shape)
        if measure or key in _timed:
            levers["erasing"] = steps * _timed_once(key, _erasing_step_seconds)
    return levers


_timed: dict[tuple, float] = {}  # the levers' per-step seconds measured in this process


def _timed_once(key: tuple, timing) -> float:
    if key not in _timed:
        _timed[key] = timing(*key)
    return _timed[key]


def _ema_step_seconds(arch: str, num_classes: int, channels: int, size: int, options: tuple) -> float:
    """One EMA update of this model's weights on the CPU (training.ema)."""
    from resnet_core.training.ema import WeightAverage
    from resnet_core.training.models import build_model

    model = build_model(arch, num_classes, channels, input_size=size, **dict(options))
    average = WeightAverage(model, 0.999)
    return _fastest_seconds(lambda: average.update(model))


def _erasing_step_seconds(batch_size: int, channels: int, size: int) -> float:
    """Random erasing of one batch of this input on the CPU (data.loader.erase)."""
    import torch

    from resnet_core.data.loader import erase

    images = torch.zeros(batch_size, channels, size, size)
    generator = torch.Generator().manual_seed(0)
    return _fastest_seconds(lambda: erase(images, 0.5, generator))


def _fastest_seconds(work, repeats: int = 7) -> float:
    """The fastest of ``repeats`` timings after one warm-up call: the work's own cost, with as
    little of whatever else the machine does as can be had."""
    import time

    work()
    times = []
    for _repeat in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def plan_from_registry(config: TrainConfig) -> Plan | None:
    """The memory plan of a config on a built-in dataset, from the registry alone (no file
    is read); None for an image folder, whose shape is known only once it is read."""
    from resnet_core.data.registry import DATASETS

    spec = DATASETS.get(config.dataset)
    if spec is None or spec.channels is None:
        return None
    channels, size = config.input_shape()
    return plan(config, num_classes=len(spec.class_names or range(10)), channels=channels, size=size)


def check_memory(config: TrainConfig) -> None:
    """Refuse, not warn, a run whose training step would not fit in free memory (ConfigError)."""
    planned = plan_from_registry(config)
    problem = planned.memory_problem() if planned is not None else None
    if problem:
        raise ConfigError(problem)


class PrintEstimate(Callback):
    """Says how long a run will take before its first step: ``train(config,
    callbacks=[PrintEstimate()])`` prints "estimate: about 1 min 10 s in all on this CPU (...)".
    The CLI's ``train`` and the notebooks use it; the Train page shows the same plan."""

    def __init__(self, *, stop_hint: str | None = None, file=None) -> None:
        self.stop_hint = stop_hint  # added past LONG_RUN_S: how to stop and go on (the CLI's keys)
        self.file = file  # default: sys.stderr at the time of printing (Jupyter swaps it)

    def on_train_start(self, state) -> None:
        """Called when training begins: every check has passed (an error comes alone), the data
        is loaded once, by the trainer, and config.json holds the resolved shapes."""
        import sys

        from resnet_core.runs.folder import Run
        from resnet_core.runs.store import RunStore

        line = estimate_line(Run(state.run_dir).config, state.total_steps / max(1, state.steps_per_epoch),
                             RunStore(state.run_dir.parent), stop_hint=self.stop_hint)
        if line is not None:
            print(f"estimate: {line}", file=self.file or sys.stderr, flush=True)


def estimate_line(config: dict, epochs: float, runs, *, stop_hint: str | None = None) -> str | None:
    """The estimated time per epoch and in all of a run's resolved ``config`` (config.json):
    ``runs``' history for this model and input, else the step model calibrated here (about a
    second). Past LONG_RUN_S, ``stop_hint`` is added."""
    channels, size, _ = config["input_shape"]
    planned = plan(TrainConfig.from_dict(config), num_classes=len(config["class_names"]),
                   channels=channels, size=size, train_images=config["train_size"],
                   val_images=config["val_size"], test_images=config.get("test_size", 0),
                   epochs=epochs, runs=runs)
    line = planned.estimate_line()
    if line is not None and stop_hint and planned.total_seconds > LONG_RUN_S:
        line += f"; {stop_hint}"
    return line


@functools.lru_cache(maxsize=64)
def _memory(arch: str, num_classes: int, channels: int, size: int, optimizer: str,
            options: tuple) -> MemoryEstimate:
    """A model build and two small forwards: cached, since every page rerun and every class
    submission asks again for the same few models."""
    return estimate_memory(arch, num_classes, channels, size, optimizer=optimizer, **dict(options))
