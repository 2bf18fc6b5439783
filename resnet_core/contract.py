"""The preprocessing contract's steps, in NumPy and Pillow only: an image file -> the float32
array an exported model takes.

This module imports nothing else (not torch, not resnet_core), so that it can travel: an
MLflow model registered by ``export-runs`` carries this very file in its code folder
(interop/mlflow_export.py), and loads where the workbench is not installed. Training reads
images through ``data.decode.decode_image``, which calls ``to_8bit`` from here, and
``serving.export.preprocess_for_export`` is ``preprocess`` with a batch dimension: one
implementation for the three.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps


def to_8bit(im: Image.Image) -> Image.Image:
    """An image in one of PIL's 8-bit modes, its intensities scaled rather than clipped.

    16-bit greyscale ("I;16", or "I" as 16-bit PNGs open) is scaled by 255/65535: PIL's own
    convert("L") clips it, which turned mid-grey white. Transparency (RGBA, LA, or a palette
    with a transparent colour) is composited over white, as a viewer shows it; palettes are
    expanded. CMYK and the rest are left to convert().
    """
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        arr = np.asarray(im).astype(np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        return Image.fromarray(np.clip(np.rint(arr * (255.0 / top)), 0, 255).astype(np.uint8), "L")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im


def preprocess(source, contract: dict) -> np.ndarray:
    """One image (a path, bytes, a file object or a PIL image) -> float32 (C, S, S): EXIF
    orientation, ``to_8bit``, the contract's colour mode, ``ImageOps.fit`` to its size
    (bilinear: scale the short side, centre-crop), / 255, minus mean, divided by std."""
    if isinstance(source, Image.Image):
        im = source
    else:
        im = Image.open(io.BytesIO(source) if isinstance(source, bytes | bytearray) else source)
    im = to_8bit(ImageOps.exif_transpose(im)).convert(contract["color_mode"])
    size = contract["image_size"]
    if im.size != (size, size):
        im = ImageOps.fit(im, (size, size), Image.Resampling.BILINEAR)
    x = np.asarray(im, dtype=np.float32) / 255.0
    x = x[None] if x.ndim == 2 else x.transpose(2, 0, 1)
    mean = np.asarray(contract["mean"], dtype=np.float32)[:, None, None]
    std = np.asarray(contract["std"], dtype=np.float32)[:, None, None]
    return ((x - mean) / std).astype(np.float32)
