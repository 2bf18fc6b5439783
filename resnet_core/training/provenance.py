"""Where a run was trained, as config.json records it: the device's name and the versions of
the packages that made it (the code's own, torch, torchvision, Python, NumPy, CUDA)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import re
from pathlib import Path

import numpy as np
import torch

from resnet_core.version import __version__


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _torchvision_version() -> str | None:
    """torchvision.__version__ (with its build suffix, e.g. +cu130) read from its version.py:
    importing torchvision takes 1.4 s (it imports torch._dynamo), and training needs it only
    for the torchvision datasets."""
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "version.py"
    match = re.search(r"^__version__ = ['\"]([^'\"]+)", path.read_text(), re.MULTILINE) \
        if path.is_file() else None
    return match.group(1) if match else importlib.metadata.version("torchvision")


def versions() -> dict:
    return {"resnet_core": __version__, "torch": torch.__version__, "torchvision": _torchvision_version(),
            "python": platform.python_version(), "numpy": np.__version__,
            "cuda": torch.version.cuda}
