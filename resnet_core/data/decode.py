"""Image files to the tensors training saw: one decoder for training, Predict, Explain and serve.

``image_size`` reads only the header, so a caller can refuse an image by its pixel count
before paying to decode it (a small PNG can hold a billion pixels). One limit holds wherever
an image enters (uploads on the pages, serve, image folders): ``MAX_IMAGE_PIXELS``, read from
the header. PIL's own limit is 89 million pixels, which took 4 s and +660 MiB per upload.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor

from resnet_core.contract import to_8bit
from resnet_core.errors import DataError, first_line
from resnet_core.i18n import _

if TYPE_CHECKING:
    from resnet_core.data.dataset import DatasetInfo


class ImageError(DataError, ValueError):
    """An image cannot be decoded, or is too large to decode safely."""


# The formats decode_image opens (PIL names); anything else is refused before it is parsed.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")
ACCEPTED = "PNG, JPEG, BMP, GIF, TIFF, WebP, PPM/PGM"
# Per image, from its header: a 12-megapixel phone photo fits; far more than any model uses.
MAX_IMAGE_PIXELS = 16_000_000
# Their file names' extensions, as PIL's table maps them (.jpg and .jpeg are JPEG, .pgm is PPM;
# a test keeps this equal to PIL's, which takes 0.1 s to build at import): what upload fields
# accept and which files of an image folder are read.
IMAGE_EXTENSIONS = ("apng", "bmp", "gif", "jfif", "jpe", "jpeg", "jpg", "pbm", "pfm", "pgm", "png",
                    "pnm", "ppm", "tif", "tiff", "webp")


def _reason(e: BaseException) -> str:
    # PIL's "cannot identify image file <_io.BytesIO object at 0x...>" names an object, not a file.
    if isinstance(e, Image.UnidentifiedImageError):
        return "not a recognised image format"
    return first_line(e, 200)


def check_pixels(size: tuple[int, int], name: str = "the image") -> None:
    """A one-line ImageError for an image over ``MAX_IMAGE_PIXELS`` (by its header's size)."""
    width, height = size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageError(_("{name} is {width} x {height} pixels; at most {value} million pixels "
                           "per image: make it smaller").format(
                             name=name, width=f"{width:,}", height=f"{height:,}", value=f"{MAX_IMAGE_PIXELS / 1000000.0:.0f}"))


def image_size(source) -> tuple[int, int]:
    """(width, height) from the header alone: nothing is decoded."""
    try:
        with Image.open(source, formats=IMAGE_FORMATS) as im:
            return im.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(_("the image has more than {value} pixels").format(
                             value=f"{2 * Image.MAX_IMAGE_PIXELS:,}")) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(_("not an image this tool can read ({reason}); accepted: {ACCEPTED}").format(
                             reason=_reason(e), ACCEPTED=ACCEPTED)) from e


def decode_image(source, info: DatasetInfo) -> Tensor:
    """A path, file object or PIL image -> uint8 (C, H, W), exactly as training saw it.

    The same function serves training, evaluation and prediction so that preprocessing
    cannot drift between them: EXIF orientation, ``to_8bit`` (16-bit scaled, transparency
    over white), convert the mode, then ``ImageOps.fit`` to a square.
    """
    name = getattr(source, "name", None) or (
        str(source) if isinstance(source, (str, os.PathLike)) else "the image")
    try:
        with warnings.catch_warnings():
            # PIL warns above MAX_IMAGE_PIXELS and refuses twice that; refuse both: a huge
            # image from an upload is a decompression bomb until proven otherwise.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = source if isinstance(source, Image.Image) else Image.open(source,
                                                                             formats=IMAGE_FORMATS)
        try:
            if im is not source:  # opened lazily: the header is read, no pixel yet
                check_pixels(im.size, name)
            im = to_8bit(ImageOps.exif_transpose(im))
            im = im.convert("L" if info.channels == 1 else "RGB")
            if im.size != (info.image_size, info.image_size):
                im = ImageOps.fit(im, (info.image_size, info.image_size), Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
        finally:
            if im is not source:
                im.close()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(_("{name} is too large to decode safely ({first_line}); the limit is "
                           "{MAX_IMAGE_PIXELS} pixels").format(
                             name=name, first_line=first_line(e, 200), MAX_IMAGE_PIXELS=f"{Image.MAX_IMAGE_PIXELS:,}")) from e
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(_("{name} is not an image this tool can read ({reason}); accepted: "
                           "{ACCEPTED}").format(name=name, reason=_reason(e), ACCEPTED=ACCEPTED)) from e
    t = torch.from_numpy(arr.copy())
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1).contiguous()
