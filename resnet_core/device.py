"""The device: which one a run trains on, its autocast dtype, and how many a job may use.

One owner for the rules that were spread over seven files: ``"auto"`` means CUDA when present,
asking for CUDA without a GPU is a one-line error, and a ``"cuda:0"`` recorded by a torchrun
rank means the same as ``"cuda"`` when a run is read back (resume, evaluate, the queue).
"""

from __future__ import annotations

import contextlib
import os

import torch

from resnet_core.errors import ConfigError
from resnet_core.i18n import _

DEVICES = ("auto", "cpu", "cuda")


def device_kind(name: str) -> str:
    """``"cuda:1"`` -> ``"cuda"``: what a config's device means once its index is dropped.

    A torchrun rank records the device it trained on (``cuda:<local rank>``); a resumed run
    starts its own ranks, each picking its own index."""
    return name.split(":", 1)[0] if isinstance(name, str) else name


def resolve_device(name: str) -> torch.device:
    """auto: CUDA when present, else CPU. Asking for cuda without a GPU is a user error."""
    kind = device_kind(name)
    if kind == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if kind not in DEVICES:
        raise ConfigError(_("device must be one of {names}; got {name}").format(
                              names=', '.join(DEVICES), name=f"{name!r}"))
    if kind == "cuda" and not torch.cuda.is_available():
        raise ConfigError(_("device cuda was asked for but no CUDA GPU is available; use auto "
                            "or cpu"))
    return torch.device(name)


def cpu_has_fast_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU runs bf16 convolutions faster than fp32: AMX tiles (Intel Xeon 4th
    generation and later: oneDNN's bf16 ~2.5x fp32, ResNet-20 on 28 px, 2 cores) or AVX512-BF16
    (AMD Zen 4, Intel Cooper Lake: ResNet-14 w32's training step 1.45x, 2-vCPU EPYC,
    benchmarks/RESULTS.md). Without either, bf16 autocast ran at 0.8x of fp32. Linux's
    /proc/cpuinfo flags; False elsewhere."""
    try:
        with open(cpuinfo) as f:
            flags = next((line.split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_amp(mode: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for fp32. On the CPU autocast is off unless asked for:
    bf16 autocast ran at 0.8x of fp32 on a CPU without AMX or AVX512-BF16 (see
    ``cpu_has_fast_bf16``)."""
    if mode == "off" or (mode == "auto" and device.type != "cuda"):
        return None
    if device.type != "cuda":
        if mode == "fp16":
            raise ConfigError(_("amp fp16 needs a CUDA GPU; use off or bf16 on the CPU"))
        return torch.bfloat16
    if mode == "fp16" or (mode == "auto" and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


def autocast_context(device: torch.device, dtype: torch.dtype | None, *,
                     cache_enabled: bool = True):
    """torch.autocast for ``dtype``, or nothing for fp32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype, cache_enabled=cache_enabled)


def cpu_cores() -> int:
    """The cores this process may run on: its CPU affinity (taskset, a container's cpuset),
    which os.cpu_count() does not see (it counts the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def device_count(device: str) -> int:
    """How many processes a job on ``device`` may use: the GPUs; on the CPU, the cores."""
    if device_kind(device) == "cuda":
        return torch.cuda.device_count()
    return cpu_cores()
