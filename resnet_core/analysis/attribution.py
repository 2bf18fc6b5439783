"""Attribution maps with Captum: which pixels made the network say what it said.

``explain(model, x, method)`` runs one Captum method on one normalised image and returns an
``Attribution``: the raw attribution (C, H, W) and a 2-D map (H, W) for display. Pixel
methods are reduced over channels (absolute maximum for gradients, sum for the signed
methods); Grad-CAM is computed at a stage's output and upsampled to the input with
``LayerAttribution.interpolate``. The models are built so that hook-based methods work:
every activation call site is its own non-inplace module.

Also here: the model-randomisation sanity check of Adebayo et al. (2018), and the overlay
rendering shared by the CLI and the dashboard.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from captum.attr import (
    DeepLift,
    GuidedBackprop,
    GuidedGradCam,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from torch import Tensor, nn

from resnet_core.errors import ConfigError
from resnet_core.fonts import pil_font
from resnet_core.i18n import N_, _
from resnet_core.training.models import ResNet

METHODS = ("saliency", "integrated_gradients", "smoothgrad", "guided_backprop", "deeplift",
           "occlusion", "gradcam", "guided_gradcam")
METHOD_TITLES = {  # English; a page shows _(title) in the reader's language
    "saliency": N_("Saliency"), "integrated_gradients": N_("Integrated Gradients"),
    "smoothgrad": N_("SmoothGrad"), "guided_backprop": N_("Guided Backprop"), "deeplift": N_("DeepLift"),
    "occlusion": N_("Occlusion"), "gradcam": N_("Grad-CAM"), "guided_gradcam": N_("Guided Grad-CAM"),
}
BASELINES = ("black", "mean", "blur")  # for Integrated Gradients and DeepLift
# Methods whose map keeps its sign (evidence for and against); the rest are magnitudes.
SIGNED = {"integrated_gradients", "deeplift", "occlusion", "guided_backprop", "guided_gradcam"}


@dataclass
class Attribution:
    method: str
    target: int  # the class explained
    raw: Tensor  # (C, H, W) for pixel methods, (1, H, W) for Grad-CAM; on the CPU
    map: Tensor  # (H, W): what is drawn
    extra: dict = field(default_factory=dict)  # e.g. IG's convergence delta, the Grad-CAM stage

    @property
    def signed(self) -> bool:
        return self.method in SIGNED


def stage_names(model: ResNet) -> list[str]:
    """Stages Grad-CAM can look at: layer1..layer3 (CIFAR-style) or layer1..layer4."""
    return list(model.stage_names)


def occlusion_window(size: int) -> tuple[int, int]:
    """(window, stride) in pixels: an eighth of the image, half-overlapping (8 px -> 2/1)."""
    window = max(2, round(size / 8))
    return window, max(1, window // 2)


def black_pixel(info) -> Tensor:
    """A black pixel after the dataset's normalisation, per channel: the 'black' baseline."""
    return info.normalize(torch.zeros(1, info.channels, 1, 1, dtype=torch.uint8)).flatten()


def make_baseline(x: Tensor, kind: str, black: Tensor | None = None) -> Tensor:
    """The 'absence of signal' IG and DeepLift integrate from.

    black: every pixel 0 before normalisation (``black`` gives that value per channel);
    mean: the dataset mean (0 after normalisation); blur: a heavily blurred copy of x.
    """
    if kind == "mean":
        return torch.zeros_like(x)
    if kind == "black":
        if black is None:
            return torch.zeros_like(x)
        return black.view(1, -1, 1, 1).to(x).expand_as(x).clone()
    if kind == "blur":
        k = max(3, (x.shape[-1] // 4) | 1)
        return F.avg_pool2d(F.pad(x, (k // 2,) * 4, mode="replicate"), k, stride=1)
    raise ConfigError(_("unknown baseline {kind}; choose one of: {names}").format(
                          kind=f"{kind!r}", names=', '.join(BASELINES)))


def explain(
    model: ResNet,
    x: Tensor,
    method: str,
    target: int | None = None,
    *,
    stage: str | None = None,
    baseline: str = "black",
    black: Tensor | None = None,
    n_steps: int = 50,
    internal_batch_size: int = 16,
    nt_samples: int = 16,
    noise_std: float = 0.15,
) -> Attribution:
    """Attribute the class ``target`` (default: the predicted one) of one image ``x`` (1, C, H, W).

    ``stage`` picks the Grad-CAM layer (default: the last stage). ``black`` is the
    normalised value of a black pixel per channel, for the black baseline.
    """
    if method not in METHODS:
        raise ConfigError(_("unknown method {method}; choose one of: {names}").format(
                              method=f"{method!r}", names=', '.join(METHODS)))
    if x.ndim != 4 or x.shape[0] != 1:
        raise ConfigError(_("explain takes one image shaped (1, C, H, W), got {tuple}").format(
                              tuple=tuple(x.shape)))
    model.eval()
    x = x.detach().clone().requires_grad_(True)
    if target is None:
        with torch.no_grad():
            target = int(model(x).argmax(1))
    stage = stage or model.stage_names[-1]
    if stage not in model.stage_names:
        raise ConfigError(_("unknown stage {stage}; choose one of: {names}").format(
                              stage=f"{stage!r}", names=', '.join(model.stage_names)))
    extra: dict = {}
    with warnings.catch_warnings():
        # Captum warns that hooks and requires_grad are set on the input; both intended.
        warnings.simplefilter("ignore", UserWarning)
        raw = _attribute(model, x, method, target, stage, baseline, black, n_steps,
                         internal_batch_size, nt_samples, noise_std, extra)
    raw = raw.detach().float().cpu()[0]
    return Attribution(method, target, raw, _to_map(method, raw), extra)


def _attribute(model, x, method, target, stage, baseline, black, n_steps, internal_batch_size,
               nt_samples, noise_std, extra) -> Tensor:
    if method == "saliency":
        return Saliency(model).attribute(x, target=target, abs=True)
    if method == "integrated_gradients":
        attr, delta = IntegratedGradients(model).attribute(
            x, baselines=make_baseline(x, baseline, black), target=target, n_steps=n_steps,
            internal_batch_size=internal_batch_size, return_convergence_delta=True)
        extra.update(convergence_delta=float(delta.abs().max()), baseline=baseline)
        return attr
    if method == "smoothgrad":
        return NoiseTunnel(Saliency(model)).attribute(
            x, nt_type="smoothgrad", nt_samples=nt_samples, nt_samples_batch_size=internal_batch_size,
            stdevs=noise_std, target=target, abs=True)
    if method == "guided_backprop":
        return GuidedBackprop(model).attribute(x, target=target)
    if method == "deeplift":
        extra["baseline"] = baseline
        return DeepLift(model).attribute(x, baselines=make_baseline(x, baseline, black), target=target)
    if method == "occlusion":
        window, stride = occlusion_window(x.shape[-1])
        extra.update(window=window, stride=stride)
        c = x.shape[1]
        return Occlusion(model).attribute(x, sliding_window_shapes=(c, window, window),
                                          strides=(c, stride, stride), baselines=0, target=target,
                                          perturbations_per_eval=16)
    layer = getattr(model, stage)
    extra["stage"] = stage
    if method == "gradcam":
        cam = LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True)
        extra["cells"] = tuple(cam.shape[-2:])  # the stage's own grid, before it is enlarged
        return LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    return GuidedGradCam(model, layer).attribute(x, target=target)


def _to_map(method: str, raw: Tensor) -> Tensor:
    if method in ("saliency", "smoothgrad"):
        return raw.abs().amax(0)
    if method == "gradcam":
        return raw[0]
    return raw.sum(0)


# --------------------------------------------------------------------------- sanity check


def randomized_copy(model: ResNet, seed: int = 0) -> ResNet:
    """The same architecture with freshly initialised weights (norm statistics reset too)."""
    clone = copy.deepcopy(model)
    torch.manual_seed(seed)
    for m in clone.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.reset_parameters()
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            m.reset_parameters()
            if isinstance(m, nn.BatchNorm2d):
                m.reset_running_stats()
    return clone.eval()


def rank_correlation(a: Tensor, b: Tensor) -> float:
    """Spearman's rank correlation of two maps (as in Adebayo et al. 2018, Fig. 2)."""
    ra = a.flatten().argsort().argsort().double()
    rb = b.flatten().argsort().argsort().double()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = (ra.norm() * rb.norm()).item()
    return float((ra * rb).sum() / denom) if denom else 0.0


def randomization_check(model: ResNet, x: Tensor, method: str = "saliency", target: int | None = None,
                        **kwargs) -> dict:
    """Attributions of the trained model against the same net with random weights.

    A method that explains the model should give clearly different maps (low rank
    correlation of absolute values); one that mostly redraws the input (an edge detector)
    will not. Returns both attributions and the correlation.
    """
    trained = explain(model, x, method, target, **kwargs)
    random = explain(randomized_copy(model), x, method, trained.target, **kwargs)
    return {"trained": trained, "random": random,
            "rank_correlation": rank_correlation(trained.map.abs(), random.map.abs())}


# --------------------------------------------------------------------------- drawing


def heatmap_rgb(attr_map: Tensor, signed: bool) -> np.ndarray:
    """(H, W) -> uint8 (H, W, 3): red for evidence for the class, blue against (signed maps),
    or a light-to-dark magnitude scale."""
    from matplotlib import colormaps

    values = attr_map.numpy().astype(np.float64)
    scale = np.percentile(np.abs(values), 99.5) or 1.0
    if signed:
        norm = np.clip(values / scale, -1, 1) * 0.5 + 0.5
        rgba = colormaps["RdBu_r"](norm)
    else:
        rgba = colormaps["inferno"](np.clip(values / scale, 0, 1))
    return (rgba[..., :3] * 255).astype(np.uint8)


def image_rgb(image: Tensor) -> np.ndarray:
    """uint8 (C, H, W) -> uint8 (H, W, 3)."""
    arr = image.numpy()
    return np.repeat(arr[0][..., None], 3, axis=2) if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def overlay_rgb(image: Tensor, attribution: Attribution, alpha: float = 0.55) -> np.ndarray:
    """The heat map blended over a greyed copy of the image."""
    base = image_rgb(image).astype(np.float64).mean(axis=2, keepdims=True).repeat(3, axis=2)
    heat = heatmap_rgb(attribution.map, attribution.signed).astype(np.float64)
    weight = np.clip(attribution.map.abs().numpy() / (attribution.map.abs().max().item() or 1.0), 0, 1)
    weight = (alpha * weight)[..., None]
    return (base * (1 - weight) + heat * weight).astype(np.uint8)


def render_panel(image: Tensor, attribution: Attribution, caption: str, size: int = 224):
    """A PIL image: the input, the heat map and the overlay side by side, with a caption."""
    from PIL import Image, ImageDraw

    tiles = [image_rgb(image), heatmap_rgb(attribution.map, attribution.signed),
             overlay_rgb(image, attribution)]
    tiles = [Image.fromarray(t).resize((size, size), Image.Resampling.NEAREST) for t in tiles]
    gap, header, bar = 8, 28, 10
    panel = Image.new("RGB", (3 * size + 4 * gap, size + header + gap + bar + 22), "white")
    for i, tile in enumerate(tiles):
        panel.paste(tile, (gap + i * (size + gap), header))
    draw = ImageDraw.Draw(panel)
    ends = (_("against"), _("for the class")) if attribution.signed else ("0", _("most"))
    font = pil_font(13, caption, *ends)  # Noto Sans CJK where installed: Chinese, not boxes
    draw.text((gap, 8), caption, fill="black", font=font)
    # The colour scale under the heat map: what its colours mean (the PNG had none).
    ramp = np.linspace(-1, 1, size) if attribution.signed else np.linspace(0, 1, size)
    strip = heatmap_rgb(torch.from_numpy(np.tile(ramp, (bar, 1))), attribution.signed)
    left, top = gap + size + gap, header + size + gap
    panel.paste(Image.fromarray(strip), (left, top))
    draw.text((left, top + bar + 4), ends[0], fill="black", font=font)
    draw.text((left + size - draw.textlength(ends[1], font=font), top + bar + 4), ends[1], fill="black",
              font=font)
    return panel


def explain_run_image(run_dir, method: str, index: int, *, split: str = "test",
                      checkpoint: str = "best", target: int | None = None, **kwargs) -> dict:
    """Explain image ``index`` of a run's ``split`` with one of its checkpoints.

    Returns the attribution, the uint8 image, the true and predicted class names.
    """
    from resnet_core.data.sources import load_dataset_for
    from resnet_core.errors import DataError
    from resnet_core.runs.folder import Run
    from resnet_core.training.checkpoint import load_checkpoint, model_from_checkpoint

    model, config, info = model_from_checkpoint(
        load_checkpoint(Run(Path(run_dir)).checkpoint(checkpoint)))
    dataset = load_dataset_for(config)
    n = len(dataset.split(split))
    if not 0 <= index < n:
        raise DataError(_("index {index} is out of range: the {split} split has {n} images "
                          "(0..{value})").format(index=index, split=split, n=n, value=n - 1))
    if target is not None and not 0 <= target < info.num_classes:
        raise ConfigError(_("target {target} is out of range: 0..{value}").format(
                              target=target, value=info.num_classes - 1))
    image = dataset.images(split, [index])[0]
    x = info.normalize(image[None])
    black = black_pixel(info)
    with torch.no_grad():
        probs = F.softmax(model(x), dim=1)[0]
    attribution = explain(model, x, method, target, black=black, **kwargs)
    return {
        "attribution": attribution, "image": image,
        "true": info.class_names[int(dataset.split(split).labels[index])],
        "predicted": info.class_names[int(probs.argmax())], "confidence": float(probs.max()),
        "target": info.class_names[attribution.target], "class_names": info.class_names,
    }


def probe_indices(labels: Tensor, count: int = 6) -> list[int]:
    """A fixed handful of test images: the first image of each of the first ``count`` classes."""
    picks = []
    for c in torch.unique(labels).tolist()[:count]:
        picks.append(int((labels == c).nonzero()[0]))
    return picks


def attribution_notes(extra: dict) -> list[str]:
    """What a map's numbers mean, in words for the page beside it: the integrated gradients'
    convergence delta, and Grad-CAM's own resolution (at the last stage of an 8-px recipe it is
    4x4 cells, enlarged: coarse by design, not a blurry picture)."""
    notes = []
    if "convergence_delta" in extra:
        notes.append(_("convergence delta {delta}: how far the map's sum is from the change in the output it "
                       "explains (near 0: the integral is accurate; large: raise the steps)").format(
            delta=f"{extra['convergence_delta']:.2e}"))
    if "stage" in extra:
        cells = extra.get("cells")
        notes.append(_("at {stage}, a {grid} grid enlarged to the image").format(
            stage=extra["stage"], grid=f"{cells[0]}x{cells[1]}") if cells
            else _("at {stage}").format(stage=extra["stage"]))
    return notes
