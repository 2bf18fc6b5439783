"""Datasets: the registry, fixed test splits, seeded validation splits, and the batch loader.

Every dataset arrives as uint8 images (N, C, H, W) plus int64 labels. Sets that fit in
memory are held as one tensor on the training device and cropped, flipped and normalised
there a whole batch at a time (airbench's approach: no DataLoader workers, no per-batch
host-to-device copy). Folder trees too large for memory are decoded by a DataLoader and
then take the same on-device augmentation, so both paths train identically.

The test split never depends on the run's seed: official test sets where the dataset has
one, otherwise a stratified split drawn with ``TEST_SPLIT_SEED``. Validation is carved from
the rest by ``val_fraction`` and the run's seed.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import Tensor

from .datasets import DATASETS, DatasetSpec, dataset_spec
from .errors import DataError, first_line

TEST_SPLIT_SEED = 20151210  # He et al. posted "Deep Residual Learning" on 10 Dec 2015
TEST_FRACTION = 0.2  # for sets without an official test split (digits, folder)
MAX_IN_MEMORY_BYTES = 2 * 1024**3  # folder trees above this stream through a DataLoader
STATS_SAMPLE = 512  # images used to estimate mean/std of a streamed folder tree
SHAPE_CLASSES = DATASETS["shapes"].class_names

@dataclass
class DatasetInfo:
    """The preprocessing contract: what a model trained on this set expects as input."""

    name: str
    class_names: list[str]
    channels: int  # 1 (grayscale) or 3 (RGB)
    image_size: int  # px, square
    mean: list[float]  # per channel, on [0, 1] pixel values
    std: list[float]
    hflip: bool  # horizontal flips are label-preserving (not for digits)
    crop_padding: int  # px of zero padding for random crops; 0 disables
    resize: str = "fit"  # PIL.ImageOps.fit: scale the short side, centre-crop to a square

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def normalize(self, images: Tensor) -> Tensor:
        """uint8 (N, C, H, W) -> the float input a model trained on this set expects."""
        mean = torch.tensor(self.mean, device=images.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=images.device).view(1, -1, 1, 1)
        return normalize(images, mean, std)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Split:
    """One split: labels plus either decoded images (in memory) or image files."""

    labels: Tensor  # int64 (N,)
    images: Tensor | None = None  # uint8 (N, C, H, W)
    files: list[str] | None = None  # paths, decoded on the fly
    masks: Tensor | None = None  # bool (N, H, W): where the shape was drawn (shapes only)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: Tensor) -> Split:
        return Split(
            labels=self.labels[indices],
            images=None if self.images is None else self.images[indices],
            files=None if self.files is None else [self.files[i] for i in indices.tolist()],
            masks=None if self.masks is None else self.masks[indices],
        )


@dataclass
class Dataset:
    info: DatasetInfo
    train: Split
    val: Split
    test: Split
    skipped_files: list[str] = field(default_factory=list)  # corrupt or unreadable images

    def split(self, name: str) -> Split:
        if name not in ("train", "val", "test"):
            raise DataError(f"unknown split {name!r}; choose one of: train, val, test")
        return getattr(self, name)

    def images(self, split: str, indices: list[int]) -> Tensor:
        """uint8 images (len(indices), C, H, W) for galleries and attribution."""
        s = self.split(split)
        if s.images is not None:
            return s.images[indices]
        return torch.stack([decode_image(s.files[i], self.info) for i in indices])


# --------------------------------------------------------------------------- loading


def load_dataset(
    name: str = "digits",
    *,
    data_root: str | os.PathLike = "./data",
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
    else:
        info, pool, test = _load_torchvision(spec, root, download)
    if image_size is not None and image_size != info.image_size and name != "folder":
        pool, test = _resize_split(pool, image_size), _resize_split(test, image_size)
        info.image_size = image_size
    train, val = split_train_val(pool, val_fraction, seed)
    return Dataset(info=info, train=train, val=val, test=test, skipped_files=skipped)


def load_dataset_for(config) -> Dataset:
    """The dataset a ``TrainConfig`` (or a config loaded from a run) was trained on."""
    return load_dataset(config.dataset, data_root=config.data_root, download=config.download,
                        image_size=config.image_size, val_fraction=config.val_fraction,
                        seed=config.seed)


def with_statistics(dataset: Dataset, stats: tuple[list[float], list[float]] | None) -> Dataset:
    """The dataset normalised with other (mean, std): those a checkpoint's preprocessing contract
    recorded, or those pretrained weights expect, rather than the data's own; a copy, so a
    Dataset passed in by a caller is left as it was. None: the dataset itself."""
    if stats is None:
        return dataset
    import dataclasses

    mean, std = stats
    return dataclasses.replace(dataset, info=dataclasses.replace(dataset.info, mean=list(mean),
                                                                 std=list(std)))


def split_train_val(pool: Split, val_fraction: float, seed: int) -> tuple[Split, Split]:
    """Stratified: each class gives round(n_c * val_fraction) images (at least one) to val."""
    g = torch.Generator().manual_seed(seed)
    val_idx, train_idx = [], []
    for c in torch.unique(pool.labels).tolist():
        idx = torch.nonzero(pool.labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        n_val = max(1, round(len(idx) * val_fraction)) if len(idx) > 1 else 0
        val_idx.append(idx[:n_val])
        train_idx.append(idx[n_val:])
    train_idx = torch.sort(torch.cat(train_idx)).values
    val_idx = torch.sort(torch.cat(val_idx)).values
    return pool.subset(train_idx), pool.subset(val_idx)


def stratified_test_split(labels: Tensor) -> tuple[Tensor, Tensor]:
    """Indices (pool, test) for sets without an official test split; independent of the run."""
    g = torch.Generator().manual_seed(TEST_SPLIT_SEED)
    pool, test = [], []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        n_test = max(1, round(len(idx) * TEST_FRACTION)) if len(idx) > 2 else 0
        test.append(idx[:n_test])
        pool.append(idx[n_test:])
    return torch.sort(torch.cat(pool)).values, torch.sort(torch.cat(test)).values


def channel_stats(images: Tensor) -> tuple[list[float], list[float]]:
    x = images.float().div(255)
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3)).clamp_min(1e-3)
    return [round(v, 4) for v in mean.tolist()], [round(v, 4) for v in std.tolist()]


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
        raise DataError("the digits dataset comes with scikit-learn, which is not installed; "
                        "pip install -r requirements.txt")
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


def _load_torchvision(spec: DatasetSpec, root: Path, download: bool
                      ) -> tuple[DatasetInfo, Split, Split]:
    import torchvision.datasets as tvd

    name, channels = spec.name, spec.channels
    layout = spec.layout_for(root)
    if not root.is_dir() and not download:
        raise DataError(f"data root {root} does not exist; {name} expects {layout} "
                        "(pass --download to fetch it)")
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
        raise DataError(f"{name} not found or corrupt under {root}: expected {layout}{hint}") from e
    except OSError as e:  # no network, disk full, permission denied
        raise DataError(f"could not download {name} into {root}: {e}") from e
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
    from torchvision.datasets.folder import IMG_EXTENSIONS

    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not _is_hidden(e.name))
    samples = []
    for idx, cls in enumerate(classes):
        for dirpath, dirnames, filenames in os.walk(root / cls, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d))
            for fname in sorted(filenames):
                if not _is_hidden(fname) and fname.lower().endswith(IMG_EXTENSIONS):
                    samples.append((os.path.join(dirpath, fname), idx))
    return classes, samples


def _load_folder(spec: DatasetSpec, root: Path, size: int
                 ) -> tuple[DatasetInfo, Split, Split, list[str]]:
    layout = spec.layout_for(root)
    if not root.is_dir():
        raise DataError(f"data root {root} does not exist; the folder dataset expects {layout}")
    top = {e.name for e in os.scandir(root) if e.is_dir() and not _is_hidden(e.name)}
    if {"train", "test"} <= top:
        classes, train_samples = _scan_folder(root / "train")
        test_classes, test_samples = _scan_folder(root / "test")
        if test_classes != classes:
            raise DataError(f"{root}/train and {root}/test must hold the same class folders; "
                            f"found {classes} and {test_classes}")
    else:
        classes, train_samples = _scan_folder(root)
        test_samples = None
    if len(classes) < 2:
        found = f"1 ({classes[0]!r})" if classes else "none"
        raise DataError(f"the folder dataset needs at least 2 class folders; found {found} in {root}; "
                        f"expected {layout}")
    empty = sorted(set(classes) - {classes[i] for _, i in train_samples})
    if empty:
        raise DataError(f"class folder(s) {', '.join(empty)} in {root} hold no image files "
                        "(.jpg, .jpeg, .png, .bmp, .gif, .tif, .tiff, .webp, .ppm, .pgm)")
    in_memory = (len(train_samples) + len(test_samples or [])) * 3 * size * size <= MAX_IN_MEMORY_BYTES
    # Statistics are measured below; flips and crops as the spec says, the padding an eighth.
    info = DatasetInfo(spec.name, classes, 3, size, [0.5] * 3, [0.25] * 3, hflip=spec.hflip,
                       crop_padding=spec.crop_padding or max(1, size // 8))
    skipped: list[str] = []
    pool = _folder_split(train_samples, info, in_memory, skipped)
    if test_samples is None:
        pool_idx, test_idx = stratified_test_split(pool.labels)
        pool, test = pool.subset(pool_idx), pool.subset(test_idx)
    else:
        test = _folder_split(test_samples, info, in_memory, skipped)
    if pool.images is not None:
        info.mean, info.std = channel_stats(pool.images)
    elif len(pool):
        # Streaming: estimate the statistics from up to STATS_SAMPLE evenly spaced images.
        picks = torch.linspace(0, len(pool) - 1, min(len(pool), STATS_SAMPLE)).long().unique()
        info.mean, info.std = channel_stats(
            torch.stack([decode_image(pool.files[i], info) for i in picks.tolist()]))
    return info, pool, test, skipped


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


class ImageError(DataError, ValueError):
    """An image cannot be decoded, or is too large to decode safely."""


# The formats decode_image opens (PIL names); anything else is refused before it is parsed.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")


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
            im = to_8bit(ImageOps.exif_transpose(im))
            im = im.convert("L" if info.channels == 1 else "RGB")
            if im.size != (info.image_size, info.image_size):
                im = ImageOps.fit(im, (info.image_size, info.image_size), Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
        finally:
            if im is not source:
                im.close()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"{name} is too large to decode safely ({first_line(e, 200)}); the limit is "
                         f"{Image.MAX_IMAGE_PIXELS:,} pixels") from e
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"{name} is not an image this tool can read ({first_line(e, 200)}); accepted: "
                         "PNG, JPEG, BMP, GIF, TIFF, WebP, PPM/PGM") from e
    t = torch.from_numpy(arr.copy())
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1).contiguous()


class _FileDataset(torch.utils.data.Dataset):
    def __init__(self, split: Split, info: DatasetInfo) -> None:
        self.split, self.info = split, info

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        try:
            image = decode_image(self.split.files[i], self.info)
        except (OSError, SyntaxError, ValueError):
            # Verified at load time; a file changed on disk since then becomes a black
            # image rather than a crash mid-epoch.
            image = torch.zeros(self.info.channels, self.info.image_size, self.info.image_size,
                                dtype=torch.uint8)
        return image, self.split.labels[i]


# --------------------------------------------------------------------------- batches


class BatchLoader:
    """Yields normalised float batches on ``device`` from a split, augmenting on the device.

    ``batches(order)`` takes the sample order explicitly (the trainer derives it from the
    seed and the epoch), so a resumed run can skip to the exact batch where it stopped.
    """

    def __init__(self, split: Split, info: DatasetInfo, device: torch.device, *,
                 batch_size: int, channels_last: bool = False, num_workers: int = 0) -> None:
        self.split, self.info, self.device = split, info, device
        self.batch_size = batch_size
        self.channels_last = channels_last
        self.num_workers = num_workers
        self.mean = torch.tensor(info.mean, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(info.std, device=device).view(1, -1, 1, 1)
        # In-memory sets move to the device once; labels always do.
        self.images = None if split.images is None else split.images.to(device)
        self.labels = split.labels.to(device)

    def num_batches(self, drop_last: bool) -> int:
        n = len(self.split)
        return n // self.batch_size if drop_last else math.ceil(n / self.batch_size)

    def batches(self, order: Tensor | None = None, *, drop_last: bool = False, start: int = 0,
                augment_generator: torch.Generator | None = None) -> Iterator[tuple[Tensor, Tensor]]:
        """(images, labels) per batch from batch ``start`` on; augments when given a generator."""
        order = torch.arange(len(self.split)) if order is None else order
        n_batches = self.num_batches(drop_last)
        order = order[: n_batches * self.batch_size] if drop_last else order
        # (An empty tensor splits into one empty chunk, hence the filter: resuming exactly at
        # an epoch's end must yield no batch at all.)
        chunks = tuple(c for c in order[start * self.batch_size:].split(self.batch_size) if len(c))
        for idx, raw in zip(chunks, self._raw_batches(chunks), strict=True):
            labels = self.labels[idx.to(self.device)]
            if augment_generator is not None:
                raw = augment(raw, self.info, augment_generator)
            yield self.normalize(raw), labels

    def _raw_batches(self, chunks: tuple[Tensor, ...]) -> Iterator[Tensor]:
        if self.images is not None:
            for idx in chunks:
                yield self.images[idx.to(self.device)]
            return
        flat = torch.cat(chunks).tolist() if chunks else []
        loader = torch.utils.data.DataLoader(
            _FileDataset(self.split, self.info), batch_size=self.batch_size, sampler=flat,
            num_workers=self.num_workers, pin_memory=self.device.type == "cuda",
        )
        for images, _ in loader:
            yield images.to(self.device, non_blocking=True)

    def normalize(self, images: Tensor) -> Tensor:
        x = normalize(images, self.mean, self.std)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


def normalize(images: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """uint8 (N, C, H, W) -> float, per-channel standardised: what every model here eats."""
    return (images.float() / 255.0 - mean) / std


def preprocess(sources: list, info: DatasetInfo) -> Tensor:
    """Image files or PIL images -> the normalised batch a model trained on ``info`` expects."""
    return info.normalize(torch.stack([decode_image(s, info) for s in sources]))


def augment(images: Tensor, info: DatasetInfo, generator: torch.Generator) -> Tensor:
    """Random crop with zero padding and (where label-preserving) horizontal flip, per image."""
    n, _, h, w = images.shape
    device = images.device
    p = info.crop_padding
    if p > 0:
        padded = F.pad(images, (p, p, p, p))
        dy = torch.randint(0, 2 * p + 1, (n, 1), device=device, generator=generator)
        dx = torch.randint(0, 2 * p + 1, (n, 1), device=device, generator=generator)
        rows = (dy + torch.arange(h, device=device)).view(n, 1, h, 1)
        cols = (dx + torch.arange(w, device=device)).view(n, 1, 1, w)
        batch = torch.arange(n, device=device).view(n, 1, 1, 1)
        chans = torch.arange(images.shape[1], device=device).view(1, -1, 1, 1)
        images = padded[batch, chans, rows, cols]
    if info.hflip:
        flip = torch.rand(n, device=device, generator=generator) < 0.5
        images = torch.where(flip.view(n, 1, 1, 1), images.flip(3), images)
    return images
