"""The data wing: the dataset registry, loading each kind of source, the preprocessing
contract, batch loaders, safe image decoding, the data folder and uploads, drawings.

The names below are the wing's public surface (the pages use the wing through them); each
loads its module on first use, so importing the wing costs nothing.
"""

from resnet_core.lazy import lazy_exports

# public name -> the module of this wing that defines it (or a foundation module, in full)
PUBLIC = {
    "IMAGE_EXTENSIONS": "decode",
    "decode_image": "decode",
    "CANVAS": "drawing",
    "MAX_POINTS": "drawing",
    "clean_strokes": "drawing",
    "drawing_to_image": "drawing",
    "drawing_hint": "drawing",
    "pen_width": "drawing",
    "DEFAULT_ROOT": "folder",
    "BUILT_IN": "registry",
    "DATASETS": "registry",
    "DATASET_NAMES": "registry",
    "availability": "registry",
    "load_dataset": "sources",
}

__getattr__, __dir__ = lazy_exports(__name__, PUBLIC)
