"""BatchLoader: batches of a split, shuffled with a seeded generator, decoded from files where
a folder dataset is too large for memory, augmented on the fly; preprocess and augment."""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor

from resnet_core.data.dataset import DatasetInfo, Split, normalize
from resnet_core.data.decode import decode_image


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
                augment_generator: torch.Generator | None = None, crop_flip: bool = True,
                erasing: float = 0.0, crop_padding: int | None = None,
                ) -> Iterator[tuple[Tensor, Tensor]]:
        """(images, labels) per batch from batch ``start`` on. Given a generator, augments:
        crops and flips (``crop_flip``; ``crop_padding`` px, None: the dataset's own), then
        random erasing with chance ``erasing`` per image."""
        order = torch.arange(len(self.split)) if order is None else order
        n_batches = self.num_batches(drop_last)
        order = order[: n_batches * self.batch_size] if drop_last else order
        # (An empty tensor splits into one empty chunk, hence the filter: resuming exactly at
        # an epoch's end must yield no batch at all.)
        chunks = tuple(c for c in order[start * self.batch_size:].split(self.batch_size) if len(c))
        for idx, raw in zip(chunks, self._raw_batches(chunks), strict=True):
            labels = self.labels[idx.to(self.device)]
            if augment_generator is not None and crop_flip:
                raw = augment(raw, self.info, augment_generator, crop_padding)
            x = self.normalize(raw)
            if augment_generator is not None and erasing > 0:
                x = erase(x, erasing, augment_generator)
            yield x, labels

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


def preprocess(sources: list, info: DatasetInfo) -> Tensor:
    """Image files or PIL images -> the normalised batch a model trained on ``info`` expects."""
    return info.normalize(torch.stack([decode_image(s, info) for s in sources]))


def augment(images: Tensor, info: DatasetInfo, generator: torch.Generator,
            padding: int | None = None) -> Tensor:
    """Random crop with zero padding (``padding`` px, None: the dataset's own; 0: none) and
    (where label-preserving) horizontal flip, per image."""
    n, _, h, w = images.shape
    device = images.device
    p = info.crop_padding if padding is None else padding
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


# Random erasing's rectangle, as torchvision's RandomErasing draws it: 2-33% of the image's
# area, aspect ratio 0.3 to 3.3 (log-uniform).
ERASE_AREA = (0.02, 0.33)
ERASE_RATIO = (0.3, 3.3)


def erase(images: Tensor, probability: float, generator: torch.Generator) -> Tensor:
    """Random erasing (Zhong et al. 2017) on a normalised batch: each image, with chance
    ``probability``, gets one random rectangle set to 0, its channels' mean. One vectorised
    draw for the batch; where torchvision retries a rectangle that does not fit (up to ten
    times), this one is clipped to the image."""
    n, _, h, w = images.shape
    device = images.device

    def uniform(low: float, high: float) -> Tensor:
        return low + (high - low) * torch.rand(n, device=device, generator=generator)

    area = uniform(*ERASE_AREA) * h * w
    ratio = torch.exp(uniform(math.log(ERASE_RATIO[0]), math.log(ERASE_RATIO[1])))
    eh = torch.sqrt(area * ratio).round().clamp(1, h)
    ew = torch.sqrt(area / ratio).round().clamp(1, w)
    top = (uniform(0, 1) * (h - eh + 1)).floor()
    left = (uniform(0, 1) * (w - ew + 1)).floor()
    chosen = torch.rand(n, device=device, generator=generator) < probability
    rows = torch.arange(h, device=device).view(1, h, 1)
    cols = torch.arange(w, device=device).view(1, 1, w)
    inside = ((rows >= top.view(n, 1, 1)) & (rows < (top + eh).view(n, 1, 1))
              & (cols >= left.view(n, 1, 1)) & (cols < (left + ew).view(n, 1, 1)))
    mask = (inside & chosen.view(n, 1, 1)).unsqueeze(1)
    return images.masked_fill(mask, 0.0)
