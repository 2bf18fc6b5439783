"""The learning-rate range test (Smith 2015, "Cyclical learning rates"; fastai's ``lr_find``).

Train for a few hundred steps at most while the learning rate grows exponentially from
``start_lr`` to ``end_lr``; record the loss at each step; stop once the smoothed loss passes
DIVERGED_FACTOR times its minimum. The suggestion is fastai's "valley" rule: the longest
stretch over which the smoothed loss keeps falling, and a point two thirds of the way down
it (steep enough to learn fast, well before the loss turns up).

Nothing is kept: the sweep trains a model built from the config (and its starting weights,
read only), or, given ``model``, puts that model's weights back afterwards.
"""

from __future__ import annotations

import copy
import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from resnet_core.atomic import atomic_write, atomic_write_text
from resnet_core.data.dataset import with_statistics
from resnet_core.data.loader import BatchLoader
from resnet_core.device import autocast_context, resolve_amp
from resnet_core.errors import ConfigError, WorkbenchError
from resnet_core.fonts import matplotlib_fonts
from resnet_core.i18n import _
from resnet_core.training.config import TrainConfig
from resnet_core.training.recipe import compute_loss, make_optimizer, prepare  # the run's own
from resnet_core.training.transfer import (
    FeatureLoader,
    Head,
    frozen_at,
    load_into,
    pooled_features,
    preprocessing_for,
    set_backbone_frozen,
    train_mode,
    weights_for,
)

DIVERGED_FACTOR = 4.0  # stop when the smoothed loss exceeds this times its minimum (fastai)
# Exponential moving average of the loss, debiased. fastai's 0.98 over 100 steps lags the
# sweep by about 50 steps (4 decades of learning rate); 0.95 over 200 steps by under one.
SMOOTHING = 0.95
MAX_STEPS = 1000


@dataclass
class LRFind:
    lrs: list[float]
    losses: list[float]  # raw, per step
    smoothed: list[float]  # debiased exponential moving average
    suggestion: float
    diverged: bool  # stopped early because the loss blew up

    def rows(self) -> list[dict]:
        return [{"step": i + 1, "lr": lr, "loss": loss, "smoothed_loss": sm}
                for i, (lr, loss, sm) in enumerate(zip(self.lrs, self.losses, self.smoothed,
                                                       strict=True))]


def lr_find(config: TrainConfig, *, start_lr: float = 1e-7, end_lr: float = 10.0,
            num_steps: int = 200, dataset=None, model: nn.Module | None = None,
            progress: bool = True, on_step=None) -> LRFind:
    """Sweep the learning rate for ``config``'s model and data; return the curve and a suggestion.
    ``on_step(step, num_steps)`` is called after each step (the dashboard's progress)."""
    if not (0 < start_lr < end_lr <= 100):
        raise ConfigError(_("need 0 < start_lr < end_lr <= 100, got {start_lr} and {end_lr}").format(
                              start_lr=f"{start_lr:g}", end_lr=f"{end_lr:g}"))
    if not (isinstance(num_steps, int) and 5 <= num_steps <= MAX_STEPS):
        raise ConfigError(_("steps must be a whole number in [5, {MAX_STEPS}], got {num_steps}").format(
                              MAX_STEPS=MAX_STEPS, num_steps=f"{num_steps!r}"))
    config.validate()
    weights = weights_for(config) if model is None else None
    device, _model, dataset = prepare(config, dataset)
    dataset = with_statistics(dataset, preprocessing_for(weights, dataset.info.channels))
    torch.manual_seed(config.seed)
    saved = None
    if model is None:
        model = config.build_model(dataset.info)
        if weights is not None:
            load_into(model, weights, config.arch)
    else:
        saved = copy.deepcopy(model.state_dict())
    model = model.to(device)
    try:
        return _sweep(config, model, dataset, device, start_lr, end_lr, num_steps, progress,
                      on_step)
    finally:
        if saved is not None:
            model.load_state_dict(saved)
            set_backbone_frozen(model, False)


def _sweep(config, model, dataset, device, start_lr, end_lr, num_steps, progress, on_step):
    from tqdm.auto import tqdm


    frozen = frozen_at(config, 0)  # the first phase's trainable parameters (head only, if frozen)
    set_backbone_frozen(model, frozen)
    dtype = resolve_amp(config.amp, device)
    batch = min(config.batch_size, len(dataset.train))
    loader = BatchLoader(dataset.train, dataset.info, device, batch_size=batch,
                         channels_last=config.channels_last)
    step_model: nn.Module = model
    cached = frozen and not config.augment and config.feature_cache
    if cached:
        loader = FeatureLoader(pooled_features(model, loader, dtype), dataset.train.labels, batch)
        step_model = Head(model)
    optimizer = make_optimizer(config, model)
    ratios = [group["lr"] / config.lr for group in optimizer.param_groups]
    generator = torch.Generator(device=device).manual_seed(config.seed + 1)
    gamma = (end_lr / start_lr) ** (1 / (num_steps - 1))
    lrs, losses, smoothed = [], [], []
    avg, best, diverged = 0.0, math.inf, False
    bar = tqdm(total=num_steps, desc="lr-find", unit="step", disable=not progress, leave=False)
    train_mode(model, frozen)
    step = 0
    while step < num_steps and not diverged:
        order = torch.randperm(len(dataset.train), generator=torch.Generator().manual_seed(step))
        augment = generator if (config.augment and not cached) else None
        for x, y in loader.batches(order, drop_last=True, augment_generator=augment):
            lr = start_lr * gamma ** step
            for group, ratio in zip(optimizer.param_groups, ratios, strict=True):
                group["lr"] = lr * ratio
            optimizer.zero_grad(set_to_none=True)
            with autocast_context(device, dtype):
                loss = compute_loss(config, step_model(x), y)
            loss.backward()
            optimizer.step()
            value = float(loss.detach())
            avg = SMOOTHING * avg + (1 - SMOOTHING) * value
            smooth = avg / (1 - SMOOTHING ** (step + 1))
            lrs.append(lr)
            losses.append(value)
            smoothed.append(smooth)
            best = min(best, smooth)
            step += 1
            bar.update(1)
            if on_step is not None:
                on_step(step, num_steps)
            if not math.isfinite(value) or (step > 10 and smooth > DIVERGED_FACTOR * best):
                diverged = True
                break
            if step >= num_steps:
                break
    bar.close()
    return LRFind(lrs, losses, smoothed, valley(lrs, smoothed), diverged)


def valley(lrs: list[float], losses: list[float]) -> float:
    """fastai's suggestion: the longest decreasing run of the loss (as a longest decreasing
    subsequence), and the learning rate about two thirds of the way along it."""
    finite = [(lr, loss) for lr, loss in zip(lrs, losses, strict=True) if math.isfinite(loss)]
    if len(finite) < 3:
        raise WorkbenchError(_("the loss was not finite from the start of the range test; lower "
                               "--start-lr"))
    lrs, losses = [lr for lr, _loss in finite], [loss for _lr, loss in finite]
    n = len(losses)
    run_length = [1] * n
    max_start = max_end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and run_length[i] < run_length[j] + 1:
                run_length[i] = run_length[j] + 1
        if run_length[max_end] < run_length[i]:
            max_end = i
            max_start = max_end - run_length[max_end]
    sections = (max_end - max_start) / 3
    return float(lrs[max_start + int(sections) + int(sections / 2)])


def save(result: LRFind, png: str | Path) -> tuple[Path, Path]:
    """The curve as a PNG (matplotlib, log learning-rate axis) and a CSV beside it."""
    png = Path(png)
    if png.suffix.lower() != ".png":
        raise WorkbenchError(_("--out must name a .png file, got {png}").format(png=png))
    csv_path = png.with_suffix(".csv")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["step", "lr", "loss", "smoothed_loss"])
    writer.writeheader()
    writer.writerows(result.rows())
    try:
        png.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(csv_path, buf.getvalue())
        atomic_write(png, lambda f: _figure(result).savefig(f, format="png", dpi=110))
    except OSError as e:
        raise WorkbenchError(_("could not write {png}: {value}").format(
                                 png=png, value=e.strerror or e)) from e
    return png, csv_path


def _figure(result: LRFind):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels = (_("loss"), _("smoothed"), _("suggested {lr}").format(lr=f"{result.suggestion:.3g}"),
              _("learning rate"), _("training loss"))
    matplotlib.rcParams.update(matplotlib_fonts(*labels))  # Chinese labels drawn, not boxes
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    ax.plot(result.lrs, result.losses, color="#c8c8c8", linewidth=1, label=labels[0])
    ax.plot(result.lrs, result.smoothed, color="#1f77b4", linewidth=2, label=labels[1])
    ax.axvline(result.suggestion, color="#d62728", linestyle="--", label=labels[2])
    ax.set_xscale("log")
    ax.set_xlabel(labels[3])
    ax.set_ylabel(labels[4])
    top = min(max(result.smoothed), 3 * result.smoothed[0]) if result.smoothed else 1
    ax.set_ylim(bottom=min(result.smoothed) * 0.9, top=max(top, min(result.smoothed) * 1.5))
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
