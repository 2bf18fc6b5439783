"""Checkpoints: save atomically, load safely, rebuild the model they describe.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, so it loads
with ``torch.load(weights_only=True)``: a file carrying pickled code (a ``__reduce__``
payload) is refused by the unpickler before anything runs. RNG states are stored as
tensors or plain lists for the same reason.
"""

from __future__ import annotations

import pickle
import random
import zipfile
from pathlib import Path

import numpy as np
import torch

from resnet_core.atomic import atomic_write
from resnet_core.data.dataset import DatasetInfo
from resnet_core.errors import CheckpointError, first_line
from resnet_core.i18n import _
from resnet_core.training.config import TrainConfig
from resnet_core.training.models import ResNet

FORMAT_VERSION = 1


def save_checkpoint(path: str | Path, state: dict) -> None:
    """Write ``state`` to ``path`` atomically; the previous file survives any failure."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: torch.save({"format_version": FORMAT_VERSION, **state}, f))
    except OSError as e:
        raise CheckpointError(_("could not write checkpoint {path}: {value}").format(
                                  path=path, value=e.strerror or e)) from e


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load with ``weights_only=True``; a clear CheckpointError for anything unsafe or damaged."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(_("checkpoint {path} does not exist").format(path=path))
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            _("checkpoint {path} holds objects other than tensors and plain data (possibly "
              "pickled code); refused without running it").format(path=path)
        ) from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as e:
        raise CheckpointError(_("checkpoint {path} is corrupt or truncated ({first_line})").format(
                                  path=path, first_line=first_line(e))) from e
    if not isinstance(ckpt, dict) or "model" not in ckpt or "config" not in ckpt:
        raise CheckpointError(_("{path} is not a ResNet Workbench checkpoint (no model/config)").format(
                                  path=path))
    return ckpt


def model_from_checkpoint(ckpt: dict) -> tuple[ResNet, TrainConfig, DatasetInfo]:
    """Rebuild the network a checkpoint describes and load its weights (strictly)."""
    config = TrainConfig.from_dict(ckpt["config"])
    info = DatasetInfo(**ckpt["preprocessing"])
    model = config.build_model(info)
    model.load_state_dict(ckpt["model"])
    model.eval()
    return model, config, info


def capture_rng_states() -> dict:
    """Every global RNG the run touches, as tensors and plain lists (weights_only-safe)."""
    np_state = np.random.get_state(legacy=False)
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "bit_generator": np_state["bit_generator"],
            "key": np_state["state"]["key"].tolist(),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "python": _to_lists(random.getstate()),
    }


def restore_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    s = states["numpy"]
    np.random.set_state({
        "bit_generator": s["bit_generator"],
        "state": {"key": np.array(s["key"], dtype=np.uint32), "pos": s["pos"]},
        "has_gauss": s["has_gauss"], "gauss": s["gauss"],
    })
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))


def _to_lists(value):
    return [_to_lists(v) for v in value] if isinstance(value, tuple) else value
