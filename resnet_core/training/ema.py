"""An exponential moving average (EMA) of a model's weights: the model a run evaluates and keeps
when ``TrainConfig.ema`` is on. Polyak averaging, as in airbench's and timm's recipes: the
average of the last few hundred steps' weights often generalises better than the last step's."""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """A copy of ``model`` whose floating-point weights and buffers (BatchNorm's running
    statistics included) follow the trained ones: ``w_avg += (1 - d) * (w - w_avg)`` per step.

    ``d`` is ``decay`` once the average has seen enough steps; before, ``(1 + n) / (10 + n)``
    after n updates, so that the first steps' random weights do not linger (TensorFlow's
    ExponentialMovingAverage with ``num_updates``)."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Called after each optimizer step: moves the average towards ``model``'s weights."""
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        averaged, trained = [], []
        for ours, theirs in zip(self._tensors(self.model), self._tensors(model), strict=True):
            if ours.is_floating_point():
                averaged.append(ours)
                trained.append(theirs)
            else:  # BatchNorm's num_batches_tracked: a count, copied
                ours.copy_(theirs)
        torch._foreach_lerp_(averaged, trained, 1.0 - d)

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict, updates: int) -> None:
        self.model.load_state_dict(state)
        self.updates = updates

    @staticmethod
    def _tensors(model: nn.Module) -> list[torch.Tensor]:
        return [*model.parameters(), *model.buffers()]
