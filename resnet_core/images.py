"""Images for people to look at: uint8 tensors and arrays as enlarged PIL images.

The pages, the PNG panels and the notebooks all show small images (8x8 digits, 32x32 shapes)
enlarged with nearest-neighbour, so pixels stay sharp squares rather than blurring.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def to_pil(image: torch.Tensor | np.ndarray, scale_to: int = 96) -> Image.Image:
    """A uint8 image as a PIL image, enlarged by a whole factor to about ``scale_to`` px.

    A tensor is (C, H, W), C = 1 or 3, as the datasets hold images; an array is (H, W) or
    (H, W, 3), as PIL and the heat maps and overlays of explain.py have them.
    """
    if isinstance(image, torch.Tensor):
        chw = image.numpy()
        arr = chw[0] if chw.shape[0] == 1 else np.transpose(chw, (1, 2, 0))
    else:
        arr = np.asarray(image)
    im = Image.fromarray(arr.astype(np.uint8))
    factor = max(1, scale_to // max(im.size))
    return im.resize((im.width * factor, im.height * factor), Image.Resampling.NEAREST)
