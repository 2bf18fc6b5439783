"""Attribution time per method on one 32x32 image of a trained ResNet-20, ours against Captum's
own call on the same model and input, alternating in one invocation.

    .venv/bin/python benchmarks/explain_speed.py

Last measured (2026-11-27, 2 vCPUs; RESULTS.md "Attribution speed"): ours / Captum's own call
1.01-1.11 for every method; the slowest, occlusion, 0.107 s; Integrated Gradients 0.063 s.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import warnings

import torch
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

from resnet_core import TrainConfig, load_checkpoint, load_dataset, model_from_checkpoint, train
from resnet_core.analysis.attribution import METHODS, black_pixel, explain, occlusion_window

REPEATS = 7


def captum_direct(model, x, method, target, black):
    x = x.clone().requires_grad_(True)
    base = black.view(1, -1, 1, 1).expand_as(x)
    if method == "saliency":
        return Saliency(model).attribute(x, target=target, abs=True)
    if method == "integrated_gradients":
        return IntegratedGradients(model).attribute(x, baselines=base, target=target, n_steps=50,
                                                    internal_batch_size=16)
    if method == "smoothgrad":
        return NoiseTunnel(Saliency(model)).attribute(x, nt_type="smoothgrad", nt_samples=16,
                                                      nt_samples_batch_size=16, stdevs=0.15,
                                                      target=target, abs=True)
    if method == "guided_backprop":
        return GuidedBackprop(model).attribute(x, target=target)
    if method == "deeplift":
        return DeepLift(model).attribute(x, baselines=base, target=target)
    if method == "occlusion":
        w, s = occlusion_window(x.shape[-1])
        c = x.shape[1]
        return Occlusion(model).attribute(x, sliding_window_shapes=(c, w, w), strides=(c, s, s),
                                          baselines=0, target=target, perturbations_per_eval=16)
    if method == "gradcam":
        cam = LayerGradCam(model, model.layer3).attribute(x, target=target, relu_attributions=True)
        return LayerAttribution.interpolate(cam, (32, 32), interpolate_mode="bilinear")
    return GuidedGradCam(model, model.layer3).attribute(x, target=target)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        run = train(TrainConfig(dataset="shapes", arch="resnet20", epochs=2, runs_dir=tmp), progress=False)
        model, _, info = model_from_checkpoint(load_checkpoint(run.dir / "checkpoints" / "best.pt"))
        accuracy = run.summary()["accuracy"]
    ds = load_dataset("shapes")
    x = info.normalize(ds.test.images[:1])
    black = black_pixel(info)
    target = int(ds.test.labels[0])
    print(f"resnet20 on shapes (test accuracy {accuracy:.3f}), one 32x32 image, "
          f"{torch.get_num_threads()} threads, median of {REPEATS}")
    print("| method | ours (s) | Captum direct (s) | ours / Captum |")
    print("|---|---|---|---|")
    for method in METHODS:
        ours, theirs = [], []
        for _ in range(REPEATS):
            ours.append(timed(lambda m=method: explain(model, x, m, target, black=black)))
            theirs.append(timed(lambda m=method: captum_direct(model, x, m, target, black)))
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"| {method} | {a:.3f} | {b:.3f} | {a / b:.2f} |")


if __name__ == "__main__":
    main()
