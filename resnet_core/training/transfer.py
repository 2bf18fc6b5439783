"""Starting from trained weights: torchvision's ImageNet files, an earlier run, or a state_dict.

Three ways in (``TrainConfig.pretrained`` / ``init_from``), one way to load them
(``load_into``): every tensor whose name and shape match loads; the classifier head (``fc.``)
is new when the class count differs; a 1-channel stem from 3-channel weights sums the RGB
filters (as timm does: a grey image x gives the same response as the RGB image (x, x, x));
anything else that does not fit means the file is for another architecture, a one-line error.
``InitReport`` says what loaded, what was adapted and what is new.

ImageNet-style builds in models.py have exactly torchvision's state_dict keys, so its files
load strictly. The files are read from torch hub's cache under torchvision's own names (what
``torchvision.models.resnet18(weights="DEFAULT")`` downloads), fetched by torchvision only
when asked (``download``): the machines this runs on often have no network.

Freezing (``freeze``, ``freeze_epochs``) follows fastai's ``fine_tune``: the head trains alone
first, then everything, the backbone at BACKBONE_LR_FACTOR of the head's learning rate
(discriminative learning rates). A frozen backbone also keeps its batch-norm statistics (its
modules stay in eval mode), so its tensors stay bit-identical, and, without augmentation, its
features are the same every epoch: ``pooled_features`` computes them once and ``FeatureLoader``
serves them to a head-only training step.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from resnet_core.errors import CheckpointError, ConfigError, first_line
from resnet_core.i18n import _
from resnet_core.runs.folder import Run

PRETRAINED = ("none", "imagenet")
FREEZE = ("none", "backbone")
HEAD = "fc"  # the classifier's module name (torchvision's)
# The start the Train page suggests for an image folder with few images per class, where
# resnet18's ImageNet file is in the cache: the head on frozen ImageNet features at ImageNet's
# size, without augmentation so the features are computed once (the cached-features path), a
# batch that a few dozen images fill. Measured: 200 images, 20 epochs, 10.8 s command to result
# on 2 CPU cores (benchmarks/RESULTS.md, "Transfer").
FEW_IMAGES_START = {"arch": "resnet18", "pretrained": "imagenet", "freeze": "backbone",
                    "augment": False, "image_size": 224, "batch_size": 16}
BACKBONE_LR_FACTOR = 0.1  # the backbone's share of the learning rate when it starts trained

# torchvision's default weights (``<Arch>_Weights.DEFAULT``) and the file names it caches them
# under; tests/core/training/test_transfer.py checks this table against torchvision's own.
IMAGENET_FILES = {
    "resnet18": "resnet18-f37072fd.pth",  # IMAGENET1K_V1, 44.7 MB
    "resnet34": "resnet34-b627a593.pth",  # IMAGENET1K_V1, 83.3 MB
    "resnet50": "resnet50-11ad3fa6.pth",  # IMAGENET1K_V2, 97.8 MB
    "resnet101": "resnet101-cd907fc2.pth",  # IMAGENET1K_V2, 170.5 MB
    "resnet152": "resnet152-f82ba261.pth",  # IMAGENET1K_V2, 230.5 MB
}
IMAGENET_URL = "https://download.pytorch.org/models/"
# The statistics ImageNet weights were trained with (torchvision's transforms); a grey input
# to a summed stem takes their averages.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class InitError(CheckpointError):
    """Weights to start from are missing, unsafe, damaged or for another architecture."""


# ----------------------------------------------------------------------------- ImageNet files


def hub_checkpoints_dir() -> Path:
    """Where torch hub keeps downloaded weights: $TORCH_HOME/hub/checkpoints (default
    ~/.cache/torch/hub/checkpoints)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


@dataclass
class WeightsStatus:
    """Whether an architecture's ImageNet file is in the cache, for the Train page and errors."""

    arch: str
    path: Path
    present: bool
    size_bytes: int

    def how_to_get(self) -> str:
        return _("pass --download to let torchvision fetch it, or copy {name} (from {url}) into {folder}").format(
            name=self.path.name, url=f"{IMAGENET_URL}{self.path.name}", folder=self.path.parent)


def imagenet_status(arch: str) -> WeightsStatus:
    if arch not in IMAGENET_FILES:
        raise ConfigError(_("ImageNet weights exist for {names}; got {arch} (the CIFAR-style "
                            "nets have none: use --init-from a run instead)").format(
                              names=', '.join(IMAGENET_FILES), arch=f"{arch!r}"))
    path = hub_checkpoints_dir() / IMAGENET_FILES[arch]
    present = path.is_file()
    return WeightsStatus(arch, path, present, path.stat().st_size if present else 0)


def imagenet_file(arch: str, download: bool = False) -> Path:
    """The cached ImageNet file for ``arch``; fetched by torchvision with ``download``."""
    status = imagenet_status(arch)
    if status.present:
        return status.path
    if not download:
        raise InitError(_("ImageNet weights for {arch} not found: no {name} in {parent}; "
                          "{how_to_get}").format(
                            arch=arch, name=status.path.name, parent=status.path.parent, how_to_get=status.how_to_get()))
    import torchvision.models as tvm  # only here: importing torchvision takes over a second

    try:
        tvm.get_model_weights(arch).DEFAULT.get_state_dict(progress=True)
    except Exception as e:  # noqa: BLE001 - no network, a proxy, a full disk: all one message
        raise InitError(_("could not download ImageNet weights for {arch} into {parent} "
                          "({first_line}); copy {name} there by hand").format(
                            arch=arch, parent=status.path.parent, first_line=first_line(e, 200), name=status.path.name)) from e
    return status.path


# ----------------------------------------------------------------------------- reading files


@dataclass
class Weights:
    """A state_dict to start from, where it came from, and the preprocessing it was trained with
    (a run's contract; None for a plain torchvision-format file)."""

    state: dict[str, Tensor]
    source: str
    mean: list[float] | None = None
    std: list[float] | None = None


def read_weights(path: str | Path) -> Weights:
    """A torchvision-format state_dict file, a workbench checkpoint, or a run folder (its best.pt,
    else last.pt). Loaded with weights_only=True: pickled code is refused, not run."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = _run_checkpoint(path)
    if not path.is_file():
        raise InitError(_("--init-from {path}: no such file or run folder; give a .pth/.pt "
                          "state_dict file or a run folder").format(path=path))
    if not _looks_like_torch_file(path):
        raise InitError(_("{path} is not a PyTorch weights file (torch.save writes a zip "
                          "archive or a pickle); give a .pth/.pt state_dict file or a run folder").format(
                            path=path))
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise InitError(_("{path} holds objects other than tensors (possibly pickled code); "
                          "refused without running it; save weights with "
                          "torch.save(model.state_dict())").format(path=path)) from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError,
            IndexError, TypeError, AttributeError) as e:  # what damaged bytes raise in the unpickler
        raise InitError(_("{path} is corrupt or truncated ({name__}: {first_line})").format(
                            path=path, name__=type(e).__name__, first_line=first_line(e, 160))) from e
    if isinstance(data, dict) and isinstance(data.get("model"), dict) and "config" in data:
        contract = data.get("preprocessing") or {}
        return Weights(data["model"], str(path), contract.get("mean"), contract.get("std"))
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]  # a common wrapper (Lightning, many training scripts)
    if not (isinstance(data, dict) and data and all(isinstance(v, Tensor) for v in data.values())):
        raise InitError(_("{path} is not a state_dict (a dict of tensors, as "
                          "torch.save(model.state_dict()) writes) nor a ResNet Workbench "
                          "checkpoint").format(path=path))
    state = {k.removeprefix("module."): v for k, v in data.items()}  # saved from DDP
    return Weights(state, str(path))


def _looks_like_torch_file(path: Path) -> bool:
    """A zip archive (torch.save since 1.6; a truncated one still starts like one) or a pickle
    (its first byte is the PROTO opcode). Anything else is not weights at all."""
    with open(path, "rb") as f:
        head = f.read(4)
    return head.startswith((b"PK\x03\x04", b"\x80")) or zipfile.is_zipfile(path)


def _run_checkpoint(run_dir: Path) -> Path:
    for name in ("best", "last"):
        path = Run(run_dir).checkpoint(name)
        if path.is_file():
            return path
    raise InitError(_("{run_dir} has no checkpoints/best.pt or last.pt to start from; give a "
                      "finished run folder or a .pth state_dict file").format(run_dir=run_dir))


def weights_for(config) -> Weights | None:
    """What a TrainConfig starts from, or None (from scratch)."""
    if config.pretrained == "imagenet":
        path = imagenet_file(config.arch, download=config.download)
        weights = read_weights(path)
        weights.source = f"torchvision ImageNet weights ({path.name})"
        return weights
    if config.init_from:
        return read_weights(config.init_from)
    return None


def preprocessing_for(weights: Weights | None, channels: int) -> tuple[list[float], list[float]] | None:
    """The mean and std inputs must be normalised with for these weights; None: the data's own.

    A run's weights expect the statistics it recorded (where the channel count agrees); a
    torchvision-format file, ImageNet's (that is how torchvision's weights were trained).
    """
    if weights is None:
        return None
    if weights.mean is not None and weights.std is not None:
        return (list(weights.mean), list(weights.std)) if len(weights.mean) == channels else None
    if channels == 3:
        return list(IMAGENET_MEAN), list(IMAGENET_STD)
    return [round(sum(IMAGENET_MEAN) / 3, 4)], [round(sum(IMAGENET_STD) / 3, 4)]


# ----------------------------------------------------------------------------- loading


@dataclass
class InitReport:
    """What ``load_into`` did with each of the model's tensors."""

    source: str
    loaded: list[str] = field(default_factory=list)
    adapted: list[str] = field(default_factory=list)  # "conv1.weight (RGB filters summed to 1 channel)"
    new: list[str] = field(default_factory=list)  # initialised fresh (the head, for other classes)

    def summary(self) -> str:
        parts = [f"started from {self.source}: {len(self.loaded)} tensors loaded"]
        if self.adapted:
            parts.append(f"adapted {', '.join(self.adapted)}")
        if self.new:
            parts.append(f"new {', '.join(self.new)}")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        return asdict(self)


def load_into(model: nn.Module, weights: Weights, arch: str = "this model") -> InitReport:
    """Copy ``weights`` into ``model`` (in place) and report; InitError if they do not fit."""
    own = model.state_dict()
    report = InitReport(weights.source)
    updates: dict[str, Tensor] = {}
    problems: list[str] = []
    for key, target in own.items():
        src = weights.state.get(key)
        if src is not None and src.shape == target.shape:
            updates[key] = src
            report.loaded.append(key)
        elif key.split(".")[0] == HEAD:
            report.new.append(key + ("" if src is None else
                                     f" ({src.shape[0]} classes in the file, {target.shape[0]} here)"))
        elif key == "conv1.weight" and src is not None and _is_rgb_to_grey(src, target):
            updates[key] = src.sum(dim=1, keepdim=True)
            report.adapted.append("conv1.weight (RGB filters summed for 1-channel input)")
        elif key == "conv1.weight" and src is not None and _is_rgb_to_grey(target, src):
            # A grey image read as RGB has three equal channels: a third of the filter on each
            # gives the response the grey model gave.
            updates[key] = src.expand(-1, 3, -1, -1) / 3
            report.adapted.append("conv1.weight (1-channel filters spread over RGB input)")
        else:
            problems.append(_describe(key, src, target))
    unused = [k for k in weights.state if k not in own]
    if problems or unused:
        found = guess_arch(weights.state)
        what = f"holds {found} weights" if found else "holds weights for another architecture"
        detail = problems[0] if problems else f"{unused[0]} has no place in {arch}"
        raise InitError(_("{source} {what}, not {arch}'s ({detail}); start from a file saved "
                          "from {arch}, or pick the architecture the file was trained as").format(
                            source=weights.source, what=what, arch=arch, detail=detail))
    with torch.no_grad():
        for key, src in updates.items():
            own[key].copy_(src)
    return report


def _is_rgb_to_grey(src: Tensor, target: Tensor) -> bool:
    return (src.ndim == 4 and src.shape[1] == 3 and target.shape[1] == 1
            and src.shape[0] == target.shape[0] and src.shape[2:] == target.shape[2:])


def _describe(key: str, src: Tensor | None, target: Tensor) -> str:
    if src is None:
        return _("{key} is missing from the file").format(key=key)
    if key == "conv1.weight" and src.ndim == 4 and src.shape[2:] != target.shape[2:]:
        k_src, k_own = src.shape[-1], target.shape[-1]
        stem = "imagenet" if k_src == 7 else "small"
        return _("the file's stem is {theirs}, this model's {ours}: use --stem {stem}").format(
            theirs=f"{k_src}x{k_src}", ours=f"{k_own}x{k_own}", stem=stem)
    return _("{key} is {theirs} in the file, {ours} here").format(key=key, theirs=list(src.shape),
                                                                  ours=list(target.shape))


def guess_arch(state: dict[str, Tensor]) -> str | None:
    """The torchvision or CIFAR-style ResNet a state_dict looks like (for error messages)."""
    from resnet_core.training.models import CIFAR_DEPTHS, IMAGENET_LAYERS

    blocks: dict[int, set[int]] = {}
    for key in state:
        parts = key.split(".")
        if parts[0].startswith("layer") and len(parts) > 2 and parts[1].isdigit():
            blocks.setdefault(int(parts[0][5:] or 0), set()).add(int(parts[1]))
    layers = [len(blocks[i]) for i in sorted(blocks)]
    bottleneck = any(".conv3." in k for k in state)
    for name, (kind, counts) in IMAGENET_LAYERS.items():
        if layers == counts and bottleneck == (kind == "bottleneck"):
            return name
    for name, n in CIFAR_DEPTHS.items():
        if layers == [n, n, n] and not bottleneck:
            return name
    return None


# ----------------------------------------------------------------------------- freezing


def backbone_parameters(model: nn.Module) -> Iterator[nn.Parameter]:
    return (p for name, p in model.named_parameters() if name.split(".")[0] != HEAD)


def head_parameters(model: nn.Module) -> Iterator[nn.Parameter]:
    return (p for name, p in model.named_parameters() if name.split(".")[0] == HEAD)


def frozen_at(config, epoch: int) -> bool:
    """Whether the backbone is frozen during ``epoch`` (0-based)."""
    if config.freeze_epochs > 0:
        return epoch < config.freeze_epochs
    return config.freeze == "backbone"


def set_backbone_frozen(model: nn.Module, frozen: bool) -> None:
    """No gradients for the backbone (so no update, no weight decay, no momentum) when frozen."""
    for p in backbone_parameters(model):
        p.requires_grad_(not frozen)


def train_mode(model: nn.Module, frozen: bool) -> None:
    """model.train(), except a frozen backbone stays in eval mode: its batch-norm layers use and
    keep their running statistics, so the backbone computes the same features every time."""
    model.train()
    if frozen:
        for name, module in model.named_children():
            if name != HEAD:
                module.eval()


def param_groups(model: nn.Module, lr: float, from_weights: bool) -> list[dict] | None:
    """The head at ``lr``, a trained backbone at BACKBONE_LR_FACTOR of it; None: one group."""
    if not from_weights:
        return None
    return [{"params": list(head_parameters(model)), "lr": lr},
            {"params": list(backbone_parameters(model)), "lr": lr * BACKBONE_LR_FACTOR}]


# ----------------------------------------------------------------------------- cached features


@torch.no_grad()
def pooled_features(model, loader, autocast_dtype: torch.dtype | None = None) -> Tensor:
    """The pooled backbone features (N, num_features) of every image of ``loader``'s split, in
    order: what the head sees, computed once for a frozen backbone without augmentation."""
    from resnet_core.device import autocast_context

    was_training = model.training
    model.eval()
    out = []
    try:
        for x, _ in loader.batches():
            with autocast_context(loader.device, autocast_dtype):
                out.append(torch.flatten(model.avgpool(model.forward_features(x)), 1).float())
    finally:
        model.train(was_training)
    return torch.cat(out)


class FeatureLoader:
    """``BatchLoader``'s interface over cached features: (features, labels) per batch."""

    def __init__(self, features: Tensor, labels: Tensor, batch_size: int) -> None:
        self.features, self.labels = features, labels.to(features.device)
        self.batch_size = batch_size
        self.device = features.device

    def batches(self, order: Tensor | None = None, *, drop_last: bool = False, start: int = 0,
                augment_generator: torch.Generator | None = None, crop_flip: bool = True,
                erasing: float = 0.0, crop_padding: int | None = None,
                ) -> Iterator[tuple[Tensor, Tensor]]:
        """As ``BatchLoader.batches``; features are cached only for runs that do not augment,
        so the augmentation arguments are accepted and have nothing to act on."""
        order = torch.arange(len(self.labels)) if order is None else order
        if drop_last:
            order = order[: len(order) // self.batch_size * self.batch_size]
        for idx in order[start * self.batch_size:].split(self.batch_size):
            if len(idx):
                idx = idx.to(self.device)
                yield self.features[idx], self.labels[idx]


class Head(nn.Module):
    """The classifier alone, on pooled features: what a training step runs on cached features."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.fc = getattr(model, HEAD)

    def forward(self, features: Tensor) -> Tensor:
        return self.fc(features)


# ----------------------------------------------------------------------------- uploads

MAX_WEIGHTS_BYTES = 1024**3  # resnet152's file is 230 MB; a gigabyte is not a ResNet


def accept_weights(data_dir: str | Path, name: str, data: bytes) -> Path:
    """Keep an uploaded .pth/.pt once (the same bytes, the same file) under
    <data_dir>/uploads/weights/, after checking it loads safely as weights; its path. Who may
    upload is the front door's to check (``workbench.Session.upload_weights``)."""
    import hashlib
    import re

    from resnet_core.atomic import atomic_write
    from resnet_core.data.folder import weights_dir

    if not name.lower().endswith((".pth", ".pt")):
        raise InitError(_("{name}: upload a .pth or .pt file (torch.save(model.state_dict()))").format(
                            name=name))
    if len(data) > MAX_WEIGHTS_BYTES:
        raise InitError(_("{name} is {value} MiB; weights files up to {value2} MiB are accepted").format(
                            name=name, value=f"{len(data) / 2 ** 20:,.0f}", value2=f"{MAX_WEIGHTS_BYTES / 2 ** 20:,.0f}"))
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem)[:60] or "weights"
    target = weights_dir(data_dir) / \
        f"{hashlib.sha256(data).hexdigest()[:12]}-{stem}{Path(name).suffix.lower()}"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    candidate = target.with_name(target.name + ".check")
    candidate.write_bytes(data)
    try:
        read_weights(candidate)  # refuses pickled code, damaged files, non-weights
    except InitError as e:
        raise InitError(str(e).replace(str(candidate), name)) from None
    finally:
        candidate.unlink(missing_ok=True)
    atomic_write(target, lambda f: f.write(data))
    return target
