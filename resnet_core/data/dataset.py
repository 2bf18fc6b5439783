"""The in-memory dataset every source loads into: DatasetInfo (classes, shape, normalisation),
the train/val/test splits, and the rules that make them (stratified, seeded)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from resnet_core.data.decode import decode_image
from resnet_core.errors import DataError
from resnet_core.i18n import _

TEST_SPLIT_SEED = 20151210  # He et al. posted "Deep Residual Learning" on 10 Dec 2015
TEST_FRACTION = 0.2  # for sets without an official test split (digits, folder)

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
    found_in: str = ""  # where its files were found ("<folder> (system)"); "" when built in

    def split(self, name: str) -> Split:
        if name not in ("train", "val", "test"):
            raise DataError(_("unknown split {name}; choose one of: train, val, test").format(
                                name=f"{name!r}"))
        return getattr(self, name)

    def images(self, split: str, indices: list[int]) -> Tensor:
        """uint8 images (len(indices), C, H, W) for galleries and attribution."""
        s = self.split(split)
        if s.images is not None:
            return s.images[indices]
        return torch.stack([decode_image(s.files[i], self.info) for i in indices])


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


def normalize(images: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """uint8 (N, C, H, W) -> float, per-channel standardised: what every model here eats."""
    return (images.float() / 255.0 - mean) / std
