"""Export a run's model (ONNX, a torch.export program, or legacy TorchScript) with its
preprocessing contract.

Exported models are only as good as the preprocessing in front of them (DIGITS and
Teachable Machine users report exports that "predict differently from the app" because the
resize or normalisation drifted). So every export carries the contract it was trained with
(class names, channels, input size, mean/std, the resize rule), twice: inside the file (ONNX
metadata; the extra file ``preprocessing.json`` of a .pt2 archive or a TorchScript file) and
as a JSON sidecar next to it (``model.onnx.json``).

Formats: ``onnx`` (onnxruntime and most serving stacks), ``pt2`` (``torch.export``: the
PyTorch deployment path, ``torch.export.load(path).module()(x)``, dynamic batch), and
``torchscript``, kept for existing users but legacy: the pinned torch warns that
``torch.jit.save``/``load`` are deprecated in favour of torch.export. ``preprocess_for_export`` is the reference implementation in NumPy and
PIL: the same steps ``data.decode_image`` + ``data.normalize`` take for training.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from resnet_core.atomic import atomic_write, atomic_write_text
from resnet_core.errors import ConfigError
from resnet_core.i18n import _
from resnet_core.runs.folder import Run
from resnet_core.training.checkpoint import load_checkpoint, model_from_checkpoint

FORMATS = ("onnx", "pt2", "torchscript")  # torchscript: legacy
SUFFIXES = {"onnx": "onnx", "pt2": "pt2", "torchscript": "pt"}
MAX_BATCH = 4096  # the dynamic batch dimension's upper bound in onnx and pt2 programs
RESIZE_RULE = ("PIL.ImageOps.exif_transpose; 16-bit greyscale scaled by 255/65535 and "
               "transparency composited over white; convert to 'L' (1 channel) or 'RGB' (3), then "
               "PIL.ImageOps.fit(image, (size, size), BILINEAR): scale the short side to size "
               "and centre-crop; pixels / 255, minus mean, divided by std, per channel; NCHW float32")


def contract(info, run_dir: Path, checkpoint: str, fmt: str) -> dict:
    return {
        "format": fmt,
        "run_id": run_dir.name,
        "checkpoint": checkpoint,
        "class_names": list(info.class_names),
        "channels": info.channels,
        "color_mode": "L" if info.channels == 1 else "RGB",
        "image_size": info.image_size,
        "mean": list(info.mean),
        "std": list(info.std),
        "resize": RESIZE_RULE,
        "input": {"name": "input", "shape": ["batch", info.channels, info.image_size, info.image_size],
                  "dtype": "float32"},
        "output": {"name": "logits", "shape": ["batch", len(info.class_names)],
                   "note": "unnormalised scores; apply softmax for probabilities"},
    }


def export_run(run_dir: str | Path, fmt: str, out: str | Path, *, checkpoint: str = "best") -> dict:
    """Write the model to ``out`` and the contract to ``<out>.json``; return the contract."""
    run_dir, out = Path(run_dir), Path(out)
    if fmt not in FORMATS:
        raise ConfigError(_("unknown format {fmt}; choose one of: {names}").format(
                              fmt=f"{fmt!r}", names=', '.join(FORMATS)))
    path = Run(run_dir).checkpoint(checkpoint)  # RunError for a name other than best or last
    if not out.parent.is_dir():
        raise ConfigError(_("the folder of --out ({parent}) does not exist").format(
                              parent=out.parent))
    model, _state, info = model_from_checkpoint(
        load_checkpoint(path))
    model = model.float().eval()
    meta = contract(info, run_dir, checkpoint, fmt)
    example = torch.zeros(2, info.channels, info.image_size, info.image_size)
    if fmt == "torchscript":
        _export_torchscript(model, example, out, meta)
    elif fmt == "pt2":
        _export_pt2(model, example, out, meta)
    else:
        _export_onnx(model, example, out, meta)
    atomic_write_text(Path(f"{out}.json"), json.dumps(meta, indent=2) + "\n")
    return meta


def _export_torchscript(model, example, out: Path, meta: dict) -> None:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript is in maintenance mode; it still works
        scripted = torch.jit.trace(model, example)
    extra = {"preprocessing.json": json.dumps(meta)}
    atomic_write(out, lambda f: torch.jit.save(scripted, f, _extra_files=extra))


def _export_pt2(model, example, out: Path, meta: dict) -> None:
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    with torch.no_grad():
        program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
    extra = {"preprocessing.json": json.dumps(meta)}
    atomic_write(out, lambda f: torch.export.save(program, f, extra_files=extra))


def _export_onnx(model, example, out: Path, meta: dict) -> None:
    import onnx

    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(model, (example,), input_names=["input"],
                                    output_names=["logits"], dynamic_shapes=({0: batch},),
                                    dynamo=True, verbose=False)
    proto = program.model_proto
    for key, value in (("preprocessing", json.dumps(meta)), ("class_names", json.dumps(meta["class_names"])),
                       ("producer", "resnet_core")):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    atomic_write(out, lambda f: f.write(proto.SerializeToString()))
    onnx.checker.check_model(str(out))


def preprocess_for_export(path_or_image, meta: dict) -> np.ndarray:
    """The contract in plain NumPy and PIL: an image file -> float32 (1, C, S, S)."""
    from resnet_core.contract import preprocess

    return preprocess(path_or_image, meta)[None]
