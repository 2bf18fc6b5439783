"""What a model costs before you train it: parameters, FLOPs per image, time per epoch, memory.

FLOPs come from torch's own counter (``torch.utils.flop_counter.FlopCounterMode``, one
multiply-add = 2 FLOPs). Time per epoch comes first from history: the seconds per image that
this machine measured for the same architecture and input size (``RunStore.seconds_per_image``,
a whole run's loop: steps, validation, checkpoints). Without history, a step model: a training
step costs its FLOPs at the rate this machine sustains (forward + backward is about 3x the
forward FLOPs) plus a fixed cost per layer (kernel launches, autograd, the optimizer's
per-tensor work) that small images cannot hide. Two calibration steps of ResNet-20, at 32 and
8 px, give both terms; with the FLOPs alone, digits' 8x8 epochs came out at 0.68x of measured.
The page never calibrates while a job trains: the job would slow the measurement and the
measurement the job (a calibration taken on a busy CPU said 6.3 s for a 0.29 s epoch).

Memory is counted, not guessed: the tensors autograd saves for the backward pass (recorded
with ``torch.autograd.graph.saved_tensors_hooks`` on a two-image batch) grow with the batch;
weights, gradients and optimizer state do not. ``benchmarks/memory.py`` checks the estimate
against measured peaks.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from resnet_core.i18n import N_, _, ngettext
from resnet_core.training.evaluation import EVAL_BATCH_SIZE
from resnet_core.training.models import build_model, count_parameters

TRAIN_FLOPS_PER_FORWARD = 3.0  # backward costs about twice the forward pass


@dataclass
class ModelCost:
    parameters: int
    flops_per_image: float  # forward pass
    seconds_per_epoch: float | None  # estimated training time; None: no basis for one yet
    basis: str = "step model"  # where the time comes from: history, the step model, or none
    runs: int = 0  # the earlier runs measured, with the history basis

    def basis_words(self) -> str:
        """The basis in the reader's language ("measured here: 2 earlier runs")."""
        if self.runs:
            return ngettext("measured here: {n} earlier run", "measured here: {n} earlier runs",
                            self.runs).format(n=self.runs)
        return _(self.basis)

    def heavy(self, device: str) -> bool:
        """Worth a warning: over five minutes an epoch, or a >20M-parameter net on a CPU."""
        slow = self.seconds_per_epoch is not None and self.seconds_per_epoch > 300
        return slow or (device == "cpu" and self.parameters > 20e6)


def forward_flops(model: torch.nn.Module, channels: int, size: int) -> float:
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, channels, size, size))
    return float(counter.get_total_flops())


@dataclass(frozen=True)
class StepModel:
    """Seconds of one step: its FLOPs at a sustained rate, plus a fixed cost per layer."""
    flops_per_second: float
    seconds_per_layer: float

    def seconds(self, flops: float, layers: int) -> float:
        return flops / self.flops_per_second + layers * self.seconds_per_layer


def layer_count(model: torch.nn.Module) -> int:
    """Leaf modules: each launches its own kernels forward and backward."""
    return sum(1 for m in model.modules() if not list(m.children()))


CALIBRATION_BATCH = 64


def _step_seconds(model: torch.nn.Module, size: int, dev: torch.device,
                  windows: int = 5, window_s: float = 0.1) -> float:
    """Seconds per training step at batch 64: the median of a few short windows, so a moment
    of other work on the machine does not become the machine's speed (the fastest window
    would promise more than a whole run sustains)."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(CALIBRATION_BATCH, 3, size, size, device=dev).contiguous(
        memory_format=torch.channels_last)
    y = torch.randint(0, 10, (CALIBRATION_BATCH,), device=dev)

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    for _warm in range(3):  # warm-up: allocations, kernel selection, clocks
        step()
    times = []
    for _window in range(windows):
        sync()
        start, steps = time.perf_counter(), 0
        while time.perf_counter() - start < window_s:
            step()
            steps += 1
        sync()
        times.append((time.perf_counter() - start) / steps)
    return sorted(times)[len(times) // 2]


@functools.lru_cache(maxsize=4)
def calibrate_steps(device: str = "cpu") -> StepModel:
    """This machine's step model, from ResNet-20 training steps (batch 64) at 32 and 8 px:
    the same layers at 16x the FLOPs, so the difference in time is the FLOPs' and the rest
    the layers'."""
    dev = torch.device(device)
    model = build_model("resnet20", 10).to(dev).to(memory_format=torch.channels_last)
    layers = layer_count(model)
    counted = build_model("resnet20", 10)  # FlopCounterMode runs it on the CPU
    times, flops = {}, {}
    for size in (32, 8):
        times[size] = _step_seconds(model, size, dev)
        flops[size] = (forward_flops(counted, 3, size)
                       * TRAIN_FLOPS_PER_FORWARD * CALIBRATION_BATCH)
    rate = (flops[32] - flops[8]) / max(times[32] - times[8], 1e-9)
    per_layer = max(0.0, times[8] - flops[8] / rate) / layers
    return StepModel(rate, per_layer)


def epoch_seconds(model: torch.nn.Module, flops_per_image: float, train_images: int,
                  val_images: int, batch_size: int, steps: StepModel) -> float:
    """One epoch: full training batches, then the validation split forward only (a third of a
    step's FLOPs and fixed cost, in batches of evaluation's size)."""
    layers = layer_count(model)
    train_batches = max(1, train_images // batch_size)
    train = train_batches * steps.seconds(
        flops_per_image * TRAIN_FLOPS_PER_FORWARD * batch_size, layers)
    val_batches = -(-val_images // EVAL_BATCH_SIZE)
    val = (val_images * flops_per_image / steps.flops_per_second
           + val_batches * layers * steps.seconds_per_layer / TRAIN_FLOPS_PER_FORWARD)
    return train + val


def estimate_cost(arch: str, num_classes: int, channels: int, size: int, train_images: int, *,
                  val_images: int = 0, batch_size: int = 128, device: str = "cpu",
                  seconds_per_image: tuple[float, int] | None = None,
                  calibrate: bool = True, **model_options) -> ModelCost:
    """Parameters, FLOPs and the time per epoch of ``train_images`` images (and a validation
    pass over ``val_images``).

    ``seconds_per_image``: (seconds, runs) measured on this machine for this architecture and
    input (``RunStore.seconds_per_image``); used first. Otherwise the step model, calibrated
    now if ``calibrate`` (pass False while a job trains), else no time estimate.
    """
    model = build_model(arch, num_classes, channels, input_size=size, **model_options)
    flops = forward_flops(model, channels, size)
    if seconds_per_image is not None:
        per_image, runs = seconds_per_image
        basis = f"measured here: {runs} earlier run{'s' if runs > 1 else ''}"
        return ModelCost(count_parameters(model), flops, per_image * train_images, basis, runs)
    if not calibrate and device not in _calibrated:
        return ModelCost(count_parameters(model), flops, None, N_("none while a job trains"))
    _calibrated.add(device)
    seconds = epoch_seconds(model, flops, train_images, val_images, batch_size,
                            calibrate_steps(device))
    return ModelCost(count_parameters(model), flops, seconds, N_("step model calibrated here"))


_calibrated: set[str] = set()  # devices calibrate_steps has measured in this process


# Optimizer state per parameter, in copies of the weights: SGD keeps a momentum buffer,
# Adam/AdamW two moments.
OPTIMIZER_STATE = {"sgd": 1, "adam": 2, "adamw": 2}


@dataclass
class MemoryEstimate:
    fixed_bytes: int  # weights + gradients + optimizer state
    bytes_per_image: int  # activations autograd keeps for backward, per image

    def peak(self, batch_size: int) -> int:
        return self.fixed_bytes + self.bytes_per_image * batch_size

    def largest_batch(self, available_bytes: int) -> int:
        """The largest batch whose estimated peak fits in ``available_bytes`` (0 if none)."""
        return max(0, (available_bytes - self.fixed_bytes) // max(1, self.bytes_per_image))


PROBE_SIZE = 64  # px: larger inputs are probed at this size and scaled by area


def estimate_memory(arch: str, num_classes: int, channels: int, size: int, *,
                    optimizer: str = "sgd", **model_options) -> MemoryEstimate:
    """Training memory of one step in fp32 (autocast roughly halves the activations).

    The probe forwards never run above PROBE_SIZE: a convolution's activations grow with the
    image's area, so a larger size is measured at 64 px and scaled (at 1024 px the probe
    itself would have needed gigabytes, and a class server estimates what students ask for).
    """
    model = build_model(arch, num_classes, channels, input_size=size, **model_options)
    probe = min(size, PROBE_SIZE)
    model.train()

    def saved_bytes(batch: int) -> int:
        saved: dict[int, int] = {}

        def pack(t: torch.Tensor) -> torch.Tensor:
            # Count each storage once: a view and its base share memory.
            saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(torch.zeros(batch, channels, probe, probe)).sum()
        return sum(saved.values())

    # Saved tensors include the weights (a convolution keeps its weight for backward): the
    # difference between two batch sizes is what each image adds.
    small, large = saved_bytes(2), saved_bytes(4)
    per_image = (large - small) // 2 * (size * size) // (probe * probe)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    fixed = params * (2 + OPTIMIZER_STATE.get(optimizer, 1))  # weights, grads, state
    return MemoryEstimate(fixed_bytes=fixed, bytes_per_image=per_image)


def available_memory(device: str = "cpu") -> int:
    """Bytes free for training now: the GPU's free memory, or the host's MemAvailable."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return int(torch.cuda.mem_get_info()[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
