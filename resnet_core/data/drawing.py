"""A drawing as the model's input: strokes become the image the training data would have had.

A canvas sends strokes (lists of points in [0, 1] x [0, 1], x to the right, y down). They are
rendered here, white ink on black as in the digit sets, and then prepared the way the
dataset's own images were made:

* scikit-learn's digits (UCI optdigits): the digit's bounding box scaled to fit a 32x32
  bitmap, then each 4x4 block's count of inked pixels (0-16) is a pixel of the 8x8 image;
* MNIST (and the other 28x28 sets): the digit scaled, aspect kept, to fit a 20x20 box, then
  placed in the 28x28 image so that its centre of mass is at the centre (MNIST's own recipe);
* Fashion-MNIST: its images are product photos, not strokes: the longer side of each item
  fills the 28x28 image, centred (Zalando's recipe). A drawing is treated the same way, so a
  filled silhouette (a shirt, a shoe, a bag) is what the model can read; ``drawing_hint``
  says so beside the canvas;
* anything else: the whole canvas resized to the input size.

The result is a uint8 (C, H, W) image, which the run's preprocessing contract normalises like
any other. ``image_to_strokes`` goes the other way (one dot per inked pixel), so a test can
check that a test image drawn as strokes is classified as the image is.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from resnet_core.i18n import _

CANVAS = 280  # px: the canvas's side, ten times MNIST's
Stroke = list[tuple[float, float]]
# A drawing's points, all strokes together. A hand-drawn digit has a few hundred (the canvas
# sends one per pointer move); 300,000 points sent by a script cost ~10 s of server CPU.
MAX_POINTS = 5000
MAX_STROKES = 500


def clean_strokes(strokes) -> list[Stroke]:
    """The strokes as numbers in [0, 1], at most MAX_STROKES strokes and MAX_POINTS points in
    all (the first ones: later points are dropped); anything that is not a point is dropped.
    A canvas's state comes from the browser: never trust its size or shape."""
    clean, left = [], MAX_POINTS
    for stroke in (strokes if isinstance(strokes, list) else [])[:MAX_STROKES]:
        points = []
        for point in (stroke if isinstance(stroke, list) else [])[:left]:
            try:
                x, y = (float(v) for v in point)
            except (TypeError, ValueError):
                continue
            if np.isfinite(x) and np.isfinite(y):
                points.append((min(1.0, max(0.0, x)), min(1.0, max(0.0, y))))
        if points:
            clean.append(points)
            left -= len(points)
        if left <= 0:
            break
    return clean


def pen_width(info, canvas: int = CANVAS) -> int:
    """A pen for the input's look, for a digit drawn about 70% of the canvas high: optdigits'
    strokes are about 7 of its 32 bitmap pixels wide (2 of 8 cells after counting), MNIST's
    about 2.5 of its 20-pixel box; photos get a thin pen."""
    if info.name == "digits":
        return round(canvas * 0.7 * 7 / 32)
    if info.name == "fashion-mnist":  # a broad brush: items are filled shapes
        return round(canvas * 0.1)
    if info.channels == 1 and info.image_size <= 32:
        return round(canvas * 0.7 * 2.5 / 20)
    return max(4, round(canvas * 0.03))


def render_strokes(strokes: list[Stroke], canvas: int = CANVAS, width: int = 25) -> Image.Image:
    """White strokes of ``width`` px with round ends on a black ``canvas`` x ``canvas`` image."""
    ink = Image.new("L", (canvas, canvas), 0)
    draw = ImageDraw.Draw(ink)
    r = width / 2
    for stroke in strokes:
        points = [(float(x) * canvas, float(y) * canvas) for x, y in stroke]
        if len(points) > 1:
            draw.line(points, fill=255, width=width, joint="curve")
        for x, y in points:  # round caps and joins; a single point is a dot
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return ink


def drawing_to_image(strokes: list[Stroke], info, canvas: int = CANVAS,
                     width: int | None = None) -> Tensor:
    """The uint8 (C, H, W) image a model trained on ``info`` should see for these strokes
    (``clean_strokes`` first: at most MAX_POINTS points)."""
    ink = render_strokes(clean_strokes(strokes), canvas, width or pen_width(info, canvas))
    if ink.getbbox() is None:  # nothing drawn
        return torch.zeros(info.channels, info.image_size, info.image_size, dtype=torch.uint8)
    if info.name == "digits":
        arr = optdigits(ink)
    elif info.name == "fashion-mnist":
        arr = fill_square(ink, info.image_size)
    elif info.channels == 1 and info.image_size == 28:
        arr = mnist_centred(ink)
    else:
        arr = np.asarray(ink.resize((info.image_size, info.image_size), Image.Resampling.BOX))
    image = torch.from_numpy(np.array(arr, dtype=np.uint8))  # a copy: PIL arrays are read-only
    return image.unsqueeze(0).expand(info.channels, -1, -1).contiguous()


def _fit(ink: Image.Image, box: int) -> Image.Image:
    """The inked region, scaled (aspect kept) so that its longer side is ``box`` px."""
    crop = ink.crop(ink.getbbox())
    scale = box / max(crop.size)
    size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
    return crop.resize(size, Image.Resampling.LANCZOS)


def optdigits(ink: Image.Image) -> np.ndarray:
    """UCI optdigits: fit to a 32x32 bitmap, count the inked pixels of each 4x4 block (0-16),
    scaled to 0-255 as data.py scales scikit-learn's digits."""
    fitted = _fit(ink, 32)
    bitmap = Image.new("L", (32, 32), 0)
    bitmap.paste(fitted, ((32 - fitted.width) // 2, (32 - fitted.height) // 2))
    on = (np.asarray(bitmap) >= 128).astype(np.int64)
    counts = on.reshape(8, 4, 8, 4).sum(axis=(1, 3))
    return np.rint(counts * (255.0 / 16.0)).astype(np.uint8)


def fill_square(ink: Image.Image, size: int) -> np.ndarray:
    """Fashion-MNIST: the inked region scaled, aspect kept, so its longer side is ``size``,
    centred in a ``size`` x ``size`` image."""
    fitted = _fit(ink, size)
    square = Image.new("L", (size, size), 0)
    square.paste(fitted, ((size - fitted.width) // 2, (size - fitted.height) // 2))
    return np.asarray(square)


def drawing_hint(info) -> str:
    """One line beside the canvas: what a drawing means for this dataset's model."""
    if info.name == "fashion-mnist":
        return _("Fashion-MNIST's images are photos of clothing, not strokes: draw an item's "
                 "outline and fill it in (a trouser, a shoe, a bag); it is scaled to fill the "
                 "28x28 square, as Zalando's photos are. Sketches are far from what it learned.")
    if info.name == "digits" or info.channels == 1 and info.image_size <= 32:
        return _("Draw on the black square with the mouse or a finger; Clear starts over.")
    return _("This model learned from photos: a drawing is far from its training images, so "
             "read its answer as a curiosity.")


def mnist_centred(ink: Image.Image) -> np.ndarray:
    """MNIST: fit to a 20x20 box, then place in 28x28 with the centre of mass at the centre."""
    fitted = np.asarray(_fit(ink, 20), dtype=np.float64)
    ys, xs = np.indices(fitted.shape)
    total = fitted.sum()
    cy, cx = (ys * fitted).sum() / total, (xs * fitted).sum() / total
    top, left = round(14 - cy), round(14 - cx)
    top = min(max(top, 0), 28 - fitted.shape[0])
    left = min(max(left, 0), 28 - fitted.shape[1])
    out = np.zeros((28, 28), dtype=np.float64)
    out[top:top + fitted.shape[0], left:left + fitted.shape[1]] = fitted
    return np.rint(out).astype(np.uint8)


def image_to_strokes(image: Tensor, threshold: float = 0.4) -> tuple[list[Stroke], int]:
    """A grey uint8 image (1, H, W) as strokes: one dot per pixel at or above ``threshold`` of
    full ink, at the pixel's centre; and a pen 1.4 pixels wide on the canvas, so that
    neighbouring dots join into strokes. (How a person would copy the image, cell by cell.)"""
    grey = image[0].float() / 255.0
    h, w = grey.shape
    strokes = [[((x + 0.5) / w, (y + 0.5) / h)] for y, x in (grey >= threshold).nonzero().tolist()]
    return strokes, round(1.4 * CANVAS / max(h, w))
