"""Loading each kind of source into memory: scikit-learn's digits, the generated shapes, IDX
files (MNIST, Fashion-MNIST; plain or gzip), torchvision's other sets, and image folders.

Every loader returns the dataset's info, its training pool and its fixed test split; ``load_dataset``
then takes the seeded validation split from the pool (never from the test split).
"""

from __future__ import annotations

import gzip
import importlib.util
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from resnet_core.data.dataset import (
    TEST_SPLIT_SEED,
    Dataset,
    DatasetInfo,
    Split,
    channel_stats,
    split_train_val,
    stratified_test_split,
)
from resnet_core.data.decode import IMAGE_EXTENSIONS, IMAGE_FORMATS, decode_image
from resnet_core.data.folder import DEFAULT_ROOT
from resnet_core.data.registry import (
    DATASETS,
    DatasetSpec,
    dataset_spec,
    idx_file,
    locate,
    missing_message,
)
from resnet_core.errors import DataError
from resnet_core.i18n import _

MAX_IN_MEMORY_BYTES = 2 * 1024**3  # folder trees above this stream through a DataLoader
STATS_SAMPLE = 512  # images used to estimate mean/std of a streamed folder tree
SHAPE_CLASSES = DATASETS["shapes"].class_names


# --------------------------------------------------------------------------- loading


def load_dataset(
    name: str = "digits",
    *,
    data_root: str | os.PathLike = DEFAULT_ROOT,
    download: bool = False,
    image_size: int | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> Dataset:
    """Load a dataset by name with its fixed test split and a seeded validation split."""
    root = Path(data_root).expanduser()
    spec = dataset_spec(name)  # DataError for an unknown name
    skipped: list[str] = []
    if spec.source == "sklearn":
        info, pool, test = _load_digits(spec)
    elif spec.source == "generated":
        info, pool, test = _load_shapes(spec)
    elif spec.source == "folder":
        info, pool, test, skipped = _load_folder(spec, root, image_size or spec.image_size)
    elif spec.source == "idx":
        info, pool, test = _load_idx(spec, root, download)
    else:
        info, pool, test = _load_torchvision(spec, root, download)
    if image_size is not None and image_size != info.image_size and name != "folder":
        pool, test = _resize_split(pool, image_size), _resize_split(test, image_size)
        info.image_size = image_size
    train, val = split_train_val(pool, val_fraction, seed)
    found = locate(spec, root)
    return Dataset(info=info, train=train, val=val, test=test, skipped_files=skipped,
                   found_in=str(found) if found else "")


def load_dataset_for(config) -> Dataset:
    """The dataset a ``TrainConfig`` (or a config loaded from a run) was trained on."""
    return load_dataset(config.dataset, data_root=config.data_root, download=config.download,
                        image_size=config.image_size, val_fraction=config.val_fraction,
                        seed=config.seed)


def _load_digits(spec: DatasetSpec) -> tuple[DatasetInfo, Split, Split]:
    digits, target = digits_arrays()
    # Pixel values are 0..16 ink counts; scale to 0..255 like any other image.
    images = torch.from_numpy(np.rint(digits * (255.0 / 16.0)).astype(np.uint8)).unsqueeze(1)
    labels = torch.from_numpy(target)
    pool_idx, test_idx = stratified_test_split(labels)
    mean, std = channel_stats(images[pool_idx])
    info = DatasetInfo(spec.name, list(spec.class_names), spec.channels, spec.image_size,
                       mean, std, hflip=spec.hflip, crop_padding=spec.crop_padding)
    whole = Split(labels=labels, images=images)
    return info, whole.subset(pool_idx), whole.subset(test_idx)


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits as (images (1797, 8, 8) float 0..16, labels int64).

    Read from the file scikit-learn ships (sklearn/datasets/data/digits.csv.gz: 64 pixels and
    the label per line), exactly as ``sklearn.datasets.load_digits`` reads it, without
    importing scikit-learn: that import took 1.9 s here, more than the 8x8 digits take to
    train for several epochs. A test checks the arrays against load_digits.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(_("the digits dataset comes with scikit-learn, which is not installed; "
                          "pip install -r requirements.txt"))
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    with gzip.open(path, "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(np.int64)


def make_shapes(n: int, seed: int, size: int = 32) -> Split:
    """``n`` RGB images of a filled shape on a noisy background, with the shape's mask.

    Deterministic in ``seed``. Classes are balanced; position, size and colours vary.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES))
    images = np.empty((n, 3, size, size), dtype=np.uint8)
    masks = np.empty((n, size, size), dtype=bool)
    for i, label in enumerate(labels):
        r = rng.uniform(0.18, 0.32) * size
        cx, cy = rng.uniform(r, size - r, size=2)
        dx, dy = np.abs(xx - cx), np.abs(yy - cy)
        if label == 0:  # circle
            mask = dx**2 + dy**2 <= r**2
        elif label == 1:  # axis-aligned square
            mask = (dx <= 0.8 * r) & (dy <= 0.8 * r)
        elif label == 2:  # triangle, apex up
            top, bottom = cy - r, cy + 0.8 * r
            mask = (yy >= top) & (yy <= bottom) & (dx <= (yy - top) * 0.6)
        else:  # plus-shaped cross
            arm = 0.3 * r
            mask = ((dx <= arm) & (dy <= r)) | ((dy <= arm) & (dx <= r))
        background = rng.uniform(0, 110, size=3)
        foreground = rng.uniform(140, 255, size=3)
        noise = rng.normal(0, 12, size=(3, size, size))
        img = np.where(mask[None], foreground[:, None, None], background[:, None, None]) + noise
        images[i] = np.clip(img, 0, 255).astype(np.uint8)
        masks[i] = mask
    return Split(labels=torch.from_numpy(labels.astype(np.int64)),
                 images=torch.from_numpy(images), masks=torch.from_numpy(masks))


def _load_shapes(spec: DatasetSpec) -> tuple[DatasetInfo, Split, Split]:
    pool = make_shapes(5000, seed=1, size=spec.image_size)
    test = make_shapes(1000, seed=TEST_SPLIT_SEED, size=spec.image_size)
    mean, std = channel_stats(pool.images)
    info = DatasetInfo(spec.name, list(SHAPE_CLASSES), spec.channels, spec.image_size, mean, std,
                       hflip=spec.hflip, crop_padding=spec.crop_padding)
    return info, pool, test


# IDX (LeCun's MNIST format): a magic number whose third byte is the element type and fourth
# the number of dimensions, the dimensions as big-endian int32, then the data.
IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX file, plain or gzip-compressed (by its first two bytes, not its name)."""
    path = Path(path)
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as e:
            raise DataError(_("{path} is not a readable gzip file ({e}); delete it and fetch it "
                              "again").format(path=path, e=e)) from e
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in IDX_TYPES:
        raise DataError(_("{path} is not an IDX file (MNIST's format: it starts 00 00 <type> "
                          "<dims>)").format(path=path))
    ndim = data[3]
    shape = tuple(int(d) for d in np.frombuffer(data, ">i4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[data[2]])
    expected = 4 + 4 * ndim + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise DataError(_("{path} is truncated or corrupt: {data} bytes where its header "
                          "{shape} says {expected}").format(
                            path=path, data=f"{len(data):,}", shape=shape, expected=f"{expected:,}"))
    return np.frombuffer(data, dtype, offset=4 + 4 * ndim).reshape(shape).astype(dtype.newbyteorder("="))


def _load_idx(spec: DatasetSpec, root: Path, download: bool) -> tuple[DatasetInfo, Split, Split]:
    found = locate(spec, root)
    if found is None and download:
        _download_torchvision(spec, root)
        found = locate(spec, root)
    if found is None:
        raise DataError(missing_message(spec, root))

    def split(prefix: str) -> Split:
        images = read_idx(idx_file(found.folder, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(idx_file(found.folder, f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(_("{name} in {found}: {prefix} images {shape} and labels {shape2} "
                              "do not match (expected (N, 28, 28) and (N,))").format(
                                name=spec.name, found=found, prefix=prefix, shape=images.shape, shape2=labels.shape))
        return Split(labels=torch.from_numpy(labels.astype(np.int64)),
                     images=torch.from_numpy(images.astype(np.uint8)).unsqueeze(1))

    pool, test = split("train"), split("t10k")
    info = DatasetInfo(spec.name, list(spec.class_names), spec.channels, pool.images.shape[-1],
                       list(spec.mean), list(spec.std), hflip=spec.hflip,
                       crop_padding=spec.crop_padding)
    return info, pool, test


def _download_torchvision(spec: DatasetSpec, root: Path) -> None:
    """Let torchvision fetch ``spec``'s files into ``root`` in its own layout."""
    import torchvision.datasets as tvd

    cls = getattr(tvd, spec.torchvision_class)
    try:
        cls(str(root), train=True, download=True)
        cls(str(root), train=False, download=True)
    except (RuntimeError, OSError) as e:  # no network, disk full, permission denied
        raise DataError(_("could not download {name} into {root}: {e}").format(
                            name=spec.name, root=root, e=e)) from e


def _load_torchvision(spec: DatasetSpec, root: Path, download: bool
                      ) -> tuple[DatasetInfo, Split, Split]:
    import torchvision.datasets as tvd

    name, channels = spec.name, spec.channels
    layout = spec.layout_for(root)
    found = locate(spec, root)
    if found is not None:
        root = found.folder
    elif not root.is_dir() and not download:
        raise DataError(_("data root {root} does not exist; {name} expects {layout} (pass "
                          "--download to fetch it)").format(root=root, name=name, layout=layout))
    cls = getattr(tvd, spec.torchvision_class)
    try:
        if name == "svhn":
            train_set = cls(str(root), split="train", download=download)
            test_set = cls(str(root), split="test", download=download)
        else:
            train_set = cls(str(root), train=True, download=download)
            test_set = cls(str(root), train=False, download=download)
    except RuntimeError as e:
        hint = "" if download else " (pass --download to fetch it)"
        raise DataError(_("{name} not found or corrupt under {root}: expected {layout}{hint}").format(
                            name=name, root=root, layout=layout, hint=hint)) from e
    except OSError as e:  # no network, disk full, permission denied
        raise DataError(_("could not download {name} into {root}: {e}").format(
                            name=name, root=root, e=e)) from e
    pool, test = _tv_split(train_set, channels), _tv_split(test_set, channels)
    class_names = list(spec.class_names or train_set.classes)
    info = DatasetInfo(name, class_names, channels, pool.images.shape[-1], list(spec.mean),
                       list(spec.std), hflip=spec.hflip, crop_padding=spec.crop_padding)
    return info, pool, test


def _tv_split(ds, channels: int) -> Split:
    data = ds.data
    data = torch.as_tensor(np.asarray(data)) if not isinstance(data, Tensor) else data
    if data.ndim == 3:  # MNIST family: (N, H, W)
        data = data.unsqueeze(1)
    elif data.shape[-1] == channels and data.shape[1] != channels:  # CIFAR: (N, H, W, C)
        data = data.permute(0, 3, 1, 2)
    targets = getattr(ds, "targets", None)
    if targets is None:
        targets = ds.labels  # SVHN
    return Split(labels=torch.as_tensor(np.asarray(targets), dtype=torch.int64),
                 images=data.contiguous().to(torch.uint8))


def _resize_split(split: Split, size: int) -> Split:
    x = F.interpolate(split.images.float(), size=(size, size), mode="bilinear",
                      antialias=True, align_corners=False)
    return Split(labels=split.labels, images=x.round().clamp(0, 255).to(torch.uint8))


# --------------------------------------------------------------------------- folder trees


def _is_hidden(name: str) -> bool:
    # .git, .ipynb_checkpoints, .DS_Store, and the __MACOSX folder that macOS zips carry
    return name.startswith(".") or name.startswith("__")


def _scan_folder(root: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """Classes (sorted visible subfolders) and (path, class index) for every image file."""
    suffixes = tuple(f".{ext}" for ext in IMAGE_EXTENSIONS)
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not _is_hidden(e.name))
    samples = []
    for idx, cls in enumerate(classes):
        for dirpath, dirnames, filenames in os.walk(root / cls, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d))
            for fname in sorted(filenames):
                if not _is_hidden(fname) and fname.lower().endswith(suffixes):
                    samples.append((os.path.join(dirpath, fname), idx))
    return classes, samples


def _load_folder(spec: DatasetSpec, root: Path, size: int
                 ) -> tuple[DatasetInfo, Split, Split, list[str]]:
    layout = spec.layout_for(root)
    if not root.is_dir():
        raise DataError(_("data root {root} does not exist; the folder dataset expects {layout}").format(
                            root=root, layout=layout))
    top = {e.name for e in os.scandir(root) if e.is_dir() and not _is_hidden(e.name)}
    if {"train", "test"} <= top:
        classes, train_samples = _scan_folder(root / "train")
        test_classes, test_samples = _scan_folder(root / "test")
        if test_classes != classes:
            raise DataError(_("{root}/train and {root}/test must hold the same class folders; "
                              "found {classes} and {test_classes}").format(
                                root=root, classes=classes, test_classes=test_classes))
    else:
        classes, train_samples = _scan_folder(root)
        test_samples = None
    if len(classes) < 2:
        found = f"1 ({classes[0]!r})" if classes else "none"
        raise DataError(_("the folder dataset needs at least 2 class folders; found {found} in "
                          "{root}; expected {layout}").format(
                            found=found, root=root, layout=layout))
    empty = sorted(set(classes) - {classes[i] for _, i in train_samples})
    if empty:
        raise DataError(_("class folder(s) {names} in {root} hold no image files (.jpg, .jpeg, "
                          ".png, .bmp, .gif, .tif, .tiff, .webp, .ppm, .pgm)").format(
                            names=', '.join(empty), root=root))
    in_memory = (len(train_samples) + len(test_samples or [])) * 3 * size * size <= MAX_IN_MEMORY_BYTES
    # Statistics are measured below; flips and crops as the spec says, the padding an eighth.
    info = DatasetInfo(spec.name, classes, 3, size, [0.5] * 3, [0.25] * 3, hflip=spec.hflip,
                       crop_padding=spec.crop_padding or max(1, size // 8))
    skipped: list[str] = []
    pool = _folder_split(train_samples, info, in_memory, skipped)
    _require_readable(pool, classes, root if test_samples is None else root / "train", skipped)
    if test_samples is None:
        pool_idx, test_idx = stratified_test_split(pool.labels)
        pool, test = pool.subset(pool_idx), pool.subset(test_idx)
    else:
        test = _folder_split(test_samples, info, in_memory, skipped)
        _require_readable(test, classes, root / "test", skipped)
    if pool.images is not None:
        info.mean, info.std = channel_stats(pool.images)
    elif len(pool):
        # Streaming: estimate the statistics from up to STATS_SAMPLE evenly spaced images.
        picks = torch.linspace(0, len(pool) - 1, min(len(pool), STATS_SAMPLE)).long().unique()
        info.mean, info.std = channel_stats(
            torch.stack([decode_image(pool.files[i], info) for i in picks.tolist()]))
    return info, pool, test, skipped


def _require_readable(split: Split, classes: list[str], root: Path, skipped: list[str]) -> None:
    """A one-line DataError naming the class folders left with no readable image (their
    files exist but none decodes), instead of an empty class deep in training."""
    readable = set(split.labels.tolist())
    empty = [name for i, name in enumerate(classes) if i not in readable]
    if not empty:
        return
    first = Path(skipped[0]) if skipped else None
    if first is not None and first.is_relative_to(root):
        first = first.relative_to(root)
    example = f", e.g. {first}" if first is not None else ""
    raise DataError(_("class folder(s) {names} in {root} hold no readable image ({skipped} "
                      "file(s) could not be read{example}); the folder dataset reads {names2} "
                      "images").format(
                        names=', '.join(empty), root=root, skipped=len(skipped), example=example, names2=', '.join(IMAGE_FORMATS)))


def _folder_split(samples: list[tuple[str, int]], info: DatasetInfo, in_memory: bool,
                  skipped: list[str]) -> Split:
    """Decode (or, for large trees, verify) every file; unreadable ones are skipped and listed."""
    images, labels, files = [], [], []
    for path, label in samples:
        try:
            if in_memory:
                images.append(decode_image(path, info))
            else:
                with Image.open(path, formats=IMAGE_FORMATS) as im:
                    im.verify()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            skipped.append(path)
            continue
        labels.append(label)
        files.append(path)
    label_tensor = torch.tensor(labels, dtype=torch.int64)
    if in_memory:
        stacked = torch.stack(images) if images else torch.empty(0, info.channels, info.image_size,
                                                                  info.image_size, dtype=torch.uint8)
        return Split(labels=label_tensor, images=stacked)
    return Split(labels=label_tensor, files=files)
