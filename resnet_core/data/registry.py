"""The dataset registry: one table of what each dataset is, and the one rule for where its files are.

Config validation (the accepted names, the default budget), the CLI's choices and its
``datasets`` command, the loaders in sources.py (layout messages, channel statistics, flips and
crop padding), the Train page (which sets are here, and from where), the lessons (is MNIST
here?) and docs/datasets.md's table all read ``DATASETS`` and ``locate``. Adding a dataset: a
``DatasetSpec`` here and, for a new kind of source, its loader in sources.py. This module
imports nothing heavy, so anything may read it.

Where files are looked for, in order (``search_path``), the first folder holding all of a
set's files winning:

1. the data folder, in torchvision's layout (``<data root>/FashionMNIST/raw/``): what
   ``--download`` writes, and what a user who copies files in means;
2. the system folders (``$RESNET_WORKBENCH_SYSTEM_DATA``, default ``/usr/share/datasets``),
   ``<dir>/<name>/``: Debian's ``dataset-fashion-mnist`` puts its four .gz files there;
3. torchvision's own root, ``$TORCH_HOME/datasets`` (default ``~/.cache/torch/datasets``), in
   torchvision's layout.

An IDX file counts as present plain or gzip-compressed (``name`` or ``name.gz``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from resnet_core.errors import DataError
from resnet_core.i18n import N_, _
from resnet_core.settings import settings

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
    files: tuple[str, ...] = ()  # files that must exist in the folder found (with .gz accepted)
    subdir: str = ""  # where torchvision's layout keeps ``files`` under a root ("" : the root)
    system_name: str | None = None  # looked for in <system dir>/<system_name>/ too
    apt_package: str | None = None  # the Debian package that installs it there
    class_names: tuple[str, ...] | None = None  # None: from the files or torchvision's .classes

    @property
    def offline(self) -> bool:
        """Built in: no files, no network."""
        return self.source in ("sklearn", "generated")

    def layout_for(self, root: str | Path) -> str:
        return self.layout.format(root=root)


@dataclass(frozen=True)
class Location:
    """Where a dataset's files were found: the folder holding them, and which place that is."""

    folder: Path
    origin: str  # "data folder" | "system" | "torchvision root"

    def __str__(self) -> str:
        return f"{self.folder} ({self.origin})"


def torchvision_root() -> Path:
    """torchvision's own dataset root: $TORCH_HOME/datasets (TORCH_HOME is torch's variable;
    torch.hub keeps weights beside it, in $TORCH_HOME/hub)."""
    return Path(os.environ.get("TORCH_HOME") or "~/.cache/torch").expanduser() / "datasets"


def search_path(spec: DatasetSpec, data_root: str | Path) -> list[Location]:
    """The folders where ``spec``'s files are looked for, in the order they are tried."""
    if not spec.files:
        return []
    places = [Location(Path(data_root).expanduser() / spec.subdir, "data folder")]
    if spec.system_name:
        places += [Location(d / spec.system_name, "system") for d in settings().system_data_dirs]
    places.append(Location(torchvision_root() / spec.subdir, "torchvision root"))
    return places


def idx_file(folder: Path, name: str) -> Path | None:
    """``folder/name`` or, failing that, ``folder/name.gz``; None when neither is a file."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def locate(spec: DatasetSpec, data_root: str | Path) -> Location | None:
    """The first place on ``search_path`` holding every file of ``spec``; None if none does.
    The offline sets (digits, shapes) and the folder set have no files to find: None."""
    for place in search_path(spec, data_root):
        if all(idx_file(place.folder, f) is not None for f in spec.files):
            return place
    return None


def ways_to_get(spec: DatasetSpec, data_root: str | Path) -> str:
    """"put <layout>; or apt-get install <package>; or pass --download ...": how to get ``spec``."""
    ways = [_("put {layout}").format(layout=spec.layout_for(Path(data_root).expanduser()))]
    if spec.apt_package:
        ways.append(_("or apt-get install {package}").format(package=spec.apt_package))
    ways.append(_("or pass --download to fetch it (needs a network)"))
    return "; ".join(ways)


def missing_message(spec: DatasetSpec, data_root: str | Path) -> str:
    """One line: where ``spec`` was looked for, and the ways to get it."""
    looked = ", ".join(str(p.folder) for p in search_path(spec, data_root))
    return _("{name} not found (looked in {looked}); {ways}").format(
        name=spec.name, looked=looked, ways=ways_to_get(spec, data_root))


def availability(spec: DatasetSpec, data_root: str | Path) -> str:
    """One line for the Train page and ``python -m resnet_core datasets``: here, from where."""
    if spec.offline:
        return _("built in")
    if spec.source == "folder":
        return _("your images under {folder}").format(folder=Path(data_root).expanduser())
    found = locate(spec, data_root)
    if found is None:
        return _("not here: {ways}").format(ways=ways_to_get(spec, data_root))
    return _("here: {found}").format(found=found)


DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (
    DatasetSpec("digits", N_("scikit-learn's bundled 8x8 digits, 1,797 images, offline"), "sklearn",
                "", default_epochs=30, hflip=False, crop_padding=1, channels=1, image_size=8,
                class_names=_DIGITS),
    DatasetSpec("shapes", N_("procedural 32x32 RGB circles/squares/triangles/crosses, offline"),
                "generated", "", default_epochs=15, hflip=True, crop_padding=2, channels=3,
                image_size=32, class_names=("circle", "square", "triangle", "cross")),
    DatasetSpec("mnist", N_("MNIST, 70,000 28x28 digits (IDX files, plain or .gz)"), "idx",
                "{root}/MNIST/raw/ holding train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (plain or .gz)",
                default_epochs=10, hflip=False, crop_padding=2, channels=1, image_size=28,
                mean=(0.1307,), std=(0.3081,), torchvision_class="MNIST",
                files=_IDX, subdir="MNIST/raw", system_name="mnist", class_names=_DIGITS),
    DatasetSpec("fashion-mnist", N_("Zalando's Fashion-MNIST, 70,000 28x28 clothing images (IDX)"),
                "idx", "{root}/FashionMNIST/raw/ holding the same four IDX files as MNIST",
                default_epochs=15, hflip=True, crop_padding=2, channels=1, image_size=28,
                mean=(0.2860,), std=(0.3530,), torchvision_class="FashionMNIST",
                files=_IDX, subdir="FashionMNIST/raw", system_name="fashion-mnist",
                apt_package="dataset-fashion-mnist",
                class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                             "Shirt", "Sneaker", "Bag", "Ankle boot")),
    DatasetSpec("cifar10", N_("torchvision's CIFAR-10, 60,000 32x32 RGB images"), "torchvision",
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
# The sets the workbench knows by name (everything but your own image folder): a class
# challenge trains on one of them.
BUILT_IN = tuple(name for name, spec in DATASETS.items() if spec.source != "folder")


def dataset_spec(name: str) -> DatasetSpec:
    """The spec of ``name``; a one-line DataError naming the accepted sets otherwise."""
    if name not in DATASETS:
        raise DataError(_("unknown dataset {name}; choose one of: {names}").format(
                            name=f"{name!r}", names=', '.join(DATASET_NAMES)))
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
