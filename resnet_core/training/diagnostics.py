"""What happens inside the blocks while a ResNet trains: the lessons' diagnostics.

* ``gradient_norms``: the L2 norm of each block's parameter gradients. Vanishing gradients
  show up as early blocks' norms orders of magnitude below the late ones' (sigmoid nets).
* ``branch_ratios``: ||F(x)|| / ||shortcut(x)|| per block on a fixed probe batch: how much a
  residual block changes its input. He et al. (2015, section 4.2, Fig. 7) found the
  responses of residual functions small, i.e. blocks stay close to the identity.
* ``feature_maps``: each stage's activations for one image, for the feature-map viewer.
* ``Diagnostics``: a callback that logs the first two to ``diagnostics.jsonl`` in the run
  folder every N steps (opt-in: ``TrainConfig.diagnostics_every``). Costs one no-grad forward
  of the probe batch and a host read every N steps; the training arithmetic is untouched
  (eval-mode forward: no batch-norm statistics change, no random numbers drawn), so a run
  with diagnostics ends bit for bit where one without does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from resnet_core.events import Callback, TrainState
from resnet_core.runs.folder import DIAGNOSTICS_FILE
from resnet_core.runs.jsonl import append_jsonl, read_jsonl
from resnet_core.training.models import Block, ResNet

if TYPE_CHECKING:
    import pandas as pd


def blocks(model: ResNet) -> list[tuple[str, Block]]:
    """(name, block) from input to output: layer1.0, layer1.1, ..., layer3.8."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, Block)]


def gradient_norms(model: ResNet) -> dict[str, float]:
    """L2 norm of the gradients of each block's parameters, plus the stem and the classifier."""
    groups: dict[str, list[Tensor]] = {"stem": [], **{n: [] for n, _ in blocks(model)}, "fc": []}
    for name, p in model.named_parameters():
        if p.grad is None:
            continue
        key = "fc" if name.startswith("fc.") else ".".join(name.split(".")[:2])
        groups.get(key if key in groups else "stem", groups["stem"]).append(p.grad.detach())
    norms = {k: torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in v]))
             for k, v in groups.items() if v}
    values = torch.stack(list(norms.values())).cpu().tolist() if norms else []
    return dict(zip(norms, values, strict=True))


@torch.no_grad()
def branch_ratios(model: ResNet, x: Tensor) -> dict[str, float]:
    """||F(x)|| / ||shortcut(x)|| per block for the batch ``x`` (eval mode, no gradients).

    For a plain net (no shortcut) the denominator is the block's input, ||x||.
    """
    ratios: dict[str, Tensor] = {}

    def hook(name: str):
        def record(block: Block, inputs: tuple[Tensor], _output: Tensor) -> None:
            (inp,) = inputs
            f = block.residual_branch(inp)
            base = block.shortcut(inp) if block.residual else inp
            ratios[name] = torch.linalg.vector_norm(f.float()) / torch.linalg.vector_norm(base.float())
        return record

    was_training = model.training
    model.eval()
    handles = [b.register_forward_hook(hook(n)) for n, b in blocks(model)]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    values = torch.stack(list(ratios.values())).cpu().tolist()
    return dict(zip(ratios, values, strict=True))


@torch.no_grad()
def feature_maps(model: ResNet, x: Tensor) -> dict[str, Tensor]:
    """Activations after the stem and after each stage for one image ``x`` (1, C, H, W).

    Returns {"stem": (C, H, W), "layer1": ..., ...} on the CPU, in eval mode.
    """
    was_training = model.training
    model.eval()
    try:
        out = {}
        h = model.maxpool(model.relu(model.bn1(model.conv1(x))))
        out["stem"] = h[0].float().cpu()
        for name, stage in zip(model.stage_names, model.stages, strict=True):
            h = stage(h)
            out[name] = h[0].float().cpu()
    finally:
        model.train(was_training)
    return out


class Diagnostics(Callback):
    """Every ``every`` steps, append gradient norms and branch ratios to diagnostics.jsonl."""

    def __init__(self, run_dir: Path, probe: Tensor, every: int) -> None:
        self.path = Path(run_dir) / DIAGNOSTICS_FILE
        self.probe, self.every = probe, every

    def on_step_end(self, state: TrainState, logs: dict | None) -> None:
        if state.step % self.every and state.step != 1:
            return
        model = state.model
        grads = gradient_norms(model)
        scaler = state.extra.get("grad_scaler")
        if scaler is not None and scaler.is_enabled():  # fp16: gradients are still scaled
            scale = float(scaler.get_scale())
            grads = {k: v / scale for k, v in grads.items()}
        record = {"step": state.step, "epoch": state.epoch + 1, "grad_norm": grads,
                  "branch_ratio": branch_ratios(model, self.probe)}
        append_jsonl(self.path, record)


def read_diagnostics(run_dir: str | Path) -> pd.DataFrame:
    """diagnostics.jsonl as a long table: step, epoch, block, depth, grad_norm, branch_ratio.

    ``depth`` numbers the entries from the input (0 = stem) to the classifier. A torn last
    line (a run killed mid-write) is skipped.
    """
    import pandas as pd  # imported when a table is built, not with the module
    rows = []
    for rec in read_jsonl(Path(run_dir) / DIAGNOSTICS_FILE):
        for depth, (block, g) in enumerate(rec["grad_norm"].items()):
            rows.append({"step": rec["step"], "epoch": rec["epoch"], "block": block,
                         "depth": depth, "grad_norm": g,
                         "branch_ratio": rec["branch_ratio"].get(block)})
    return pd.DataFrame(rows, columns=["step", "epoch", "block", "depth", "grad_norm", "branch_ratio"])

