"""The dataset registry: one table of what each dataset is, read by everything that needs to know.

Config validation (the accepted names, the default budget), the CLI's choices, the loaders in
data.py (layout messages, channel statistics, flips and crop padding), the Train page (which
sets need a data folder), the lessons (is MNIST here?) and docs/datasets.md's table all read
``DATASETS``. Adding a dataset: a ``DatasetSpec`` here and, for a new kind of source, its
loader in data.py. This module imports nothing heavy, so anything may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from resnet_core.errors import DataError

_DIGITS = tuple(str(i) for i in range(10))
_IDX = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str  # one line, for README and the Train page
    source: str  # sklearn | generated | torchvision | folder
    layout: str  # where the files go under --data-root ({root}); "" for the offline sets
    default_epochs: int  # the budget when neither epochs nor max_steps is given
    hflip: bool  # horizontal flips keep the label (not for digits)
    crop_padding: int | None  # px of zero padding for random crops; None: an eighth of the size
    channels: int | None = None  # None: from the files (folder)
    image_size: int | None = None  # px; None: from the files, or --image-size (folder: 64)
    mean: tuple[float, ...] | None = None  # training-set statistics; None: computed
    std: tuple[float, ...] | None = None
    torchvision_class: str | None = None  # torchvision.datasets class for the torchvision sets
    files: tuple[str, ...] = ()  # files that must exist under --data-root (with .gz accepted)
    class_names: tuple[str, ...] | None = None  # None: from the files or torchvision's .classes

    @property
    def offline(self) -> bool:
        """Built in: no files, no network."""
        return self.source in ("sklearn", "generated")

    def layout_for(self, root: str | Path) -> str:
        return self.layout.format(root=root)

    def files_present(self, root: str | Path) -> bool:
        """Whether the files this set needs are under ``root`` (no download attempted)."""
        root = Path(root).expanduser()
        return all((root / f).exists() or (root / f"{f}.gz").exists() for f in self.files)


DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (
    DatasetSpec("digits", "scikit-learn's bundled 8x8 digits, 1,797 images, offline", "sklearn",
                "", default_epochs=30, hflip=False, crop_padding=1, channels=1, image_size=8,
                class_names=_DIGITS),
    DatasetSpec("shapes", "procedural 32x32 RGB circles/squares/triangles/crosses, offline",
                "generated", "", default_epochs=15, hflip=True, crop_padding=2, channels=3,
                image_size=32, class_names=("circle", "square", "triangle", "cross")),
    DatasetSpec("mnist", "torchvision's MNIST, 70,000 28x28 digits", "torchvision",
                "{root}/MNIST/raw/ holding train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte",
                default_epochs=10, hflip=False, crop_padding=2, channels=1, image_size=28,
                mean=(0.1307,), std=(0.3081,), torchvision_class="MNIST",
                files=tuple(f"MNIST/raw/{f}" for f in _IDX), class_names=_DIGITS),
    DatasetSpec("fashion-mnist", "torchvision's Fashion-MNIST, 70,000 28x28 clothing images",
                "torchvision", "{root}/FashionMNIST/raw/ holding the same four IDX files as MNIST",
                default_epochs=15, hflip=True, crop_padding=2, channels=1, image_size=28,
                mean=(0.2860,), std=(0.3530,), torchvision_class="FashionMNIST",
                files=tuple(f"FashionMNIST/raw/{f}" for f in _IDX)),
    DatasetSpec("cifar10", "torchvision's CIFAR-10, 60,000 32x32 RGB images", "torchvision",
                "{root}/cifar-10-batches-py/ (data_batch_1..5, test_batch, batches.meta)",
                default_epochs=30, hflip=True, crop_padding=4, channels=3, image_size=32,
                mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616),
                torchvision_class="CIFAR10", files=("cifar-10-batches-py/test_batch",)),
    DatasetSpec("cifar100", "torchvision's CIFAR-100, 60,000 32x32 RGB images, 100 classes",
                "torchvision", "{root}/cifar-100-python/ (train, test, meta)",
                default_epochs=30, hflip=True, crop_padding=4, channels=3, image_size=32,
                mean=(0.5071, 0.4865, 0.4409), std=(0.2673, 0.2564, 0.2762),
                torchvision_class="CIFAR100", files=("cifar-100-python/test",)),
    DatasetSpec("svhn", "torchvision's SVHN, house-number digits, 32x32 RGB", "torchvision",
                "{root}/train_32x32.mat and {root}/test_32x32.mat",
                default_epochs=15, hflip=False, crop_padding=2, channels=3, image_size=32,
                mean=(0.4377, 0.4438, 0.4728), std=(0.1980, 0.2010, 0.1970),
                torchvision_class="SVHN", files=("train_32x32.mat", "test_32x32.mat"),
                class_names=_DIGITS),
    DatasetSpec("folder", "your images, one folder per class (or a .zip of one)", "folder",
                "{root}/<class>/<image files> with at least two classes "
                "(or {root}/train/<class>/... and {root}/test/<class>/...)",
                default_epochs=20, hflip=True, crop_padding=None, image_size=64),
)}

DATASET_NAMES = tuple(DATASETS)


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of ``name``; a one-line DataError naming the accepted sets otherwise."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASET_NAMES)}")
    return DATASETS[name]


def markdown_table() -> str:
    """docs/datasets.md's table, from the registry (a test keeps the two equal)."""
    lines = ["| name | source | default epochs | layout under `--data-root` |",
             "|---|---|---|---|"]
    for s in DATASETS.values():
        name = f"`{s.name}`" + (" (default)" if s.name == "digits" else "")
        layout = f"`{s.layout_for('<root>')}`" if s.layout else "none (offline)"
        lines.append(f"| {name} | {s.description} | {s.default_epochs} | {layout} |")
    return "\n".join(lines)
