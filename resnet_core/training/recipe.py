"""A run's recipe, the parts the training loop and the learning-rate finder share: getting ready
(validate, pick the device, join torchrun's group, load the data, check the batch fits), the
loss, the optimizer and the learning-rate schedule. The loop (``loop.py``) runs them."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from resnet_core.data.dataset import Dataset
from resnet_core.data.sources import load_dataset_for
from resnet_core.device import resolve_amp, resolve_device
from resnet_core.errors import ConfigError
from resnet_core.i18n import _
from resnet_core.training.config import TrainConfig
from resnet_core.training.distributed import Distributed
from resnet_core.training.transfer import param_groups


def prepare(config: TrainConfig, dataset: Dataset | None = None
             ) -> tuple[torch.device, Distributed, Dataset]:
    """What train and resume share: validate, pick the device, join torchrun's group, load data."""
    config.validate()
    device = resolve_device(config.device)
    resolve_amp(config.amp, device)  # fail on a bad combination before any work
    ddp = Distributed.from_env(device)  # one process unless started by torchrun
    device = ddp.device(device)
    ddp.local_batch_size(config.batch_size)  # fails when the batch does not split over ranks
    if ddp.enabled and config.freeze_epochs:
        raise ConfigError(_("freeze_epochs does not work under torchrun yet (DDP fixes the "
                            "trained parameters at the start); use freeze backbone or none"))
    if dataset is None:
        dataset = _load_in_turn(config, ddp)
    check_fits(config, dataset)
    return device, ddp, dataset


def _load_in_turn(config: TrainConfig, ddp: Distributed) -> Dataset:
    """Rank 0 loads (and, with --download, fetches) first; the others then read the files."""
    if ddp.is_main:
        dataset = load_dataset_for(config)
    ddp.barrier()
    if not ddp.is_main:
        dataset = load_dataset_for(config)
    return dataset


def check_fits(config: TrainConfig, dataset: Dataset) -> None:
    n = len(dataset.train)
    if config.batch_size > n:
        raise ConfigError(_("batch size {batch_size} is larger than the training split ({n} "
                            "images); use at most {n}").format(batch_size=config.batch_size, n=n))


def compute_loss(config: TrainConfig, logits: Tensor, y: Tensor) -> Tensor:
    if config.loss == "mse":
        # Squared error between the softmax output and the one-hot target, as the seed
        # article describes; cross-entropy trains faster and is the default.
        target = F.one_hot(y, logits.shape[1]).to(logits.dtype)
        return F.mse_loss(F.softmax(logits, dim=1), target)
    return F.cross_entropy(logits, y, label_smoothing=config.label_smoothing)


def make_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    # From trained weights: the head at lr, the backbone at a tenth (transfer.param_groups).
    params = param_groups(model, config.lr, config.starts_from_weights) or model.parameters()
    # foreach (one multi-tensor kernel per update) is torch's default on CUDA only; on the CPU
    # it also saves a Python loop over the parameters: +3-8% images/s for ResNet-20 on digits.
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               nesterov=config.nesterov and config.momentum > 0,
                               weight_decay=config.weight_decay, foreach=True)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, foreach=True)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, foreach=True)


def make_scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int,
                   total_steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    """A per-step schedule. onecycle is torch's OneCycleLR (its own warmup); the others get a
    linear warmup of ``warmup_epochs`` and then: constant, step decay, or cosine to zero."""
    if config.scheduler == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=[group["lr"] for group in optimizer.param_groups], total_steps=total_steps)
    warmup = min(round(config.warmup_epochs * steps_per_epoch), max(0, total_steps - 1))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if config.scheduler == "step":
            return config.step_gamma ** (step // (config.step_size_epochs * steps_per_epoch))
        if config.scheduler == "cosine":
            progress = (step - warmup) / max(1, total_steps - warmup)
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
