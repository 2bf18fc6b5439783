"""Residual networks: the blocks, the two families of He et al., and ``build_model``.

Follows torchvision's ``models/resnet.py`` (names ``inplanes``, ``planes``, ``expansion``,
``layer1..4``) so that ImageNet-style builds have exactly torchvision's state_dict keys and
load its weights strictly. Two departures, both for attribution (Captum):

* every activation call site is its own, non-inplace module (``relu1``, ``relu2``, ...), so
  hook-based methods such as DeepLift and Guided Backprop see each use separately;
* ``forward_features`` / ``forward_head`` split the network the way timm does, so Grad-CAM
  and feature-map viewers can stop before the classifier.

CIFAR-style nets (ResNet-20/32/44/56/110; He et al. 2015, section 4.2) use three stages of
16/32/64 channels with ``n`` basic blocks each (depth = 6n + 2). Where the shape changes we
use a 1x1 projection shortcut (the paper's option B) rather than zero padding (option A):
it costs under 1% more parameters and keeps one block class for both families.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from resnet_core.i18n import _

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,  # never inplace: Captum's hooks need each output as its own tensor
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}
NORMS = ("batch", "group", "layer", "none")
# small: 3x3 stride 1 (the paper's CIFAR stem); strided: the same at stride 2, halving the
# size before the first stage (28 px Fashion-MNIST trains ~2x faster at the same accuracy
# per minute: benchmarks/RESULTS.md); imagenet: 7x7 stride 2 and a max-pool.
STEMS = ("auto", "imagenet", "small", "strided")

# arch -> (family, block, blocks per stage)
# The paper's CIFAR family is 6n+2 layers; n=1 and n=2 (resnet8, resnet14) are the fast
# ends of it that the real-data recipes use on a CPU (benchmarks/RESULTS.md, Fashion-MNIST).
CIFAR_DEPTHS = {"resnet8": 1, "resnet14": 2, "resnet20": 3, "resnet32": 5, "resnet44": 7, "resnet56": 9, "resnet110": 18}
IMAGENET_LAYERS = {
    "resnet18": ("basic", [2, 2, 2, 2]),
    "resnet34": ("basic", [3, 4, 6, 3]),
    "resnet50": ("bottleneck", [3, 4, 6, 3]),
    "resnet101": ("bottleneck", [3, 4, 23, 3]),
    "resnet152": ("bottleneck", [3, 8, 36, 3]),
}
ARCHS = tuple(CIFAR_DEPTHS) + tuple(IMAGENET_LAYERS)

# Inputs up to this many pixels get the small stem (3x3, stride 1, no max-pool): the
# ImageNet stem would shrink an 8x8 digit to 2x2 before the first block.
SMALL_STEM_MAX_SIZE = 64



def make_activation(name: str) -> nn.Module:
    return ACTIVATIONS[name]()


def make_norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        # 32 groups as in Wu & He (2018), fewer where the layer has fewer channels.
        return nn.GroupNorm(math.gcd(32, channels), channels)
    if kind == "layer":
        # LayerNorm over (C, H, W) of a conv map is GroupNorm with a single group.
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class Block(nn.Module):
    """What both blocks share: output = act(F(x) + shortcut(x)), or act(F(x)) when plain.

    Subclasses define ``residual_branch`` (F) and ``out_activation`` (the last call site).
    """

    residual: bool
    downsample: nn.Module | None

    def residual_branch(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def out_activation(self) -> nn.Module:
        raise NotImplementedError

    def shortcut(self, x: Tensor) -> Tensor:
        return x if self.downsample is None else self.downsample(x)

    def forward(self, x: Tensor) -> Tensor:
        out = self.residual_branch(x)
        if self.residual:
            out = out + self.shortcut(x)
        return self.out_activation()(out)


class BasicBlock(Block):
    """Two 3x3 convolutions."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        *,
        residual: bool = True,
        norm: str = "batch",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.residual = residual
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = make_norm(norm, planes)
        self.relu1 = make_activation(activation)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = make_norm(norm, planes)
        self.relu2 = make_activation(activation)
        self.downsample = downsample
        self.stride = stride

    def residual_branch(self, x: Tensor) -> Tensor:
        """F(x): what the block adds to its shortcut (used by the lessons' diagnostics)."""
        out = self.relu1(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))

    def out_activation(self) -> nn.Module:
        return self.relu2


class Bottleneck(Block):
    """1x1 reduce, 3x3, 1x1 expand (x4); stride on the 3x3 as torchvision's "ResNet v1.5"."""

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        *,
        residual: bool = True,
        norm: str = "batch",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.residual = residual
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = make_norm(norm, planes)
        self.relu1 = make_activation(activation)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = make_norm(norm, planes)
        self.relu2 = make_activation(activation)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = make_norm(norm, planes * self.expansion)
        self.relu3 = make_activation(activation)
        self.downsample = downsample
        self.stride = stride

    def residual_branch(self, x: Tensor) -> Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))

    def out_activation(self) -> nn.Module:
        return self.relu3


class ResNet(nn.Module):
    """A stem, ``len(layers)`` stages of blocks, global average pooling and a linear head.

    ``widths`` are the ``planes`` of each stage: (64, 128, 256, 512) for ImageNet-style nets,
    (16, 32, 64) for CIFAR-style ones. Every stage after the first halves the spatial size.
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: list[int],
        widths: list[int],
        num_classes: int,
        *,
        in_channels: int = 3,
        small_stem: bool = True,
        stem_stride: int = 1,
        residual: bool = True,
        norm: str = "batch",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.residual = residual
        self._norm = norm
        self._activation = activation
        self.inplanes = widths[0]
        if small_stem:
            self.conv1 = conv3x3(in_channels, self.inplanes, stem_stride)
            self.maxpool: nn.Module = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(
                in_channels, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False
            )
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.bn1 = make_norm(norm, self.inplanes)
        self.relu = make_activation(activation)
        self.stage_names: list[str] = []
        for i, (planes, blocks) in enumerate(zip(widths, layers, strict=True)):
            name = f"layer{i + 1}"
            setattr(self, name, self._make_layer(block, planes, blocks, stride=1 if i == 0 else 2))
            self.stage_names.append(name)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[-1] * block.expansion, num_classes)
        self.num_features = widths[-1] * block.expansion
        self._init_weights()

    def _make_layer(
        self, block: type[BasicBlock] | type[Bottleneck], planes: int, blocks: int, stride: int
    ) -> nn.Sequential:
        downsample = None
        out_planes = planes * block.expansion
        if self.residual and (stride != 1 or self.inplanes != out_planes):
            downsample = nn.Sequential(
                conv1x1(self.inplanes, out_planes, stride), make_norm(self._norm, out_planes)
            )
        opts = {"residual": self.residual, "norm": self._norm, "activation": self._activation}
        layers = [block(self.inplanes, planes, stride, downsample, **opts)]
        self.inplanes = out_planes
        layers += [block(self.inplanes, planes, **opts) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _init_weights(self) -> None:
        # As torchvision: He (Kaiming) normal for convolutions, norms start as identity.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    @property
    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, name) for name in self.stage_names]

    def forward_features(self, x: Tensor) -> Tensor:
        """The last stage's feature map, shape (N, num_features, h, w)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in self.stages:
            x = stage(x)
        return x

    def forward_head(self, features: Tensor) -> Tensor:
        """Global average pool and the linear classifier: features -> logits."""
        return self.fc(torch.flatten(self.avgpool(features), 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


def uses_small_stem(arch: str, stem: str, input_size: int | None) -> bool:
    if arch in CIFAR_DEPTHS:
        return True
    if stem == "auto":
        return input_size is not None and input_size <= SMALL_STEM_MAX_SIZE
    return stem in ("small", "strided")


def build_model(
    arch: str,
    num_classes: int,
    in_channels: int = 3,
    *,
    residual: bool = True,
    norm: str = "batch",
    activation: str = "relu",
    stem: str = "auto",
    input_size: int | None = None,
    width: int | None = None,
) -> ResNet:
    """Build a ResNet by name.

    ``stem="auto"`` picks the small stem for inputs up to 64 px (``input_size``; without it,
    the ImageNet stem); CIFAR-style nets use the small stem, as in the paper, or its strided
    twin. ``width``: the first stage's planes, doubled at each stage after it (None: the
    paper's, 16 for CIFAR-style nets and 64 for ImageNet-style ones).
    """
    if arch not in ARCHS:
        raise ValueError(_("unknown arch {arch}; choose one of {names}").format(
                             arch=f"{arch!r}", names=', '.join(ARCHS)))
    if norm not in NORMS:
        raise ValueError(_("unknown norm {norm}; choose one of {names}").format(
                             norm=f"{norm!r}", names=', '.join(NORMS)))
    if activation not in ACTIVATIONS:
        raise ValueError(_("unknown activation {activation}; choose one of {names}").format(
                             activation=f"{activation!r}", names=', '.join(ACTIVATIONS)))
    if stem not in STEMS:
        raise ValueError(_("unknown stem {stem}; choose one of {names}").format(
                             stem=f"{stem!r}", names=', '.join(STEMS)))
    if width is not None and not (isinstance(width, int) and 1 <= width <= 1024):
        raise ValueError(_("width must be an integer in [1, 1024], got {width}").format(
                             width=f"{width!r}"))
    if num_classes < 2:
        raise ValueError(_("num_classes must be at least 2, got {num_classes}").format(
                             num_classes=num_classes))
    opts = {"residual": residual, "norm": norm, "activation": activation}
    small = uses_small_stem(arch, stem, input_size)
    if arch in CIFAR_DEPTHS:
        n, w = CIFAR_DEPTHS[arch], width or 16
        return ResNet(BasicBlock, [n, n, n], [w, 2 * w, 4 * w], num_classes, in_channels=in_channels,
                      small_stem=True, stem_stride=2 if stem == "strided" else 1, **opts)
    kind, layers = IMAGENET_LAYERS[arch]
    block = BasicBlock if kind == "basic" else Bottleneck
    w = width or 64
    return ResNet(block, layers, [w, 2 * w, 4 * w, 8 * w], num_classes, in_channels=in_channels,
                  small_stem=small, stem_stride=2 if stem == "strided" else 1, **opts)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
