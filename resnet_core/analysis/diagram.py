"""A drawing of a residual block with the tensor shapes of a chosen architecture (Graphviz DOT).

He et al. (2015), Fig. 2 (basic block) and Fig. 5 (bottleneck): the block computes
F(x) and adds the shortcut x (identity, or a 1x1 projection where the shape changes) before
the last activation. The shapes come from running the real model on a zero image, so the
drawing is the network that will train, not a textbook copy.
"""

from __future__ import annotations

import torch

from resnet_core.i18n import N_, _
from resnet_core.training.diagnostics import blocks
from resnet_core.training.models import Bottleneck, build_model


def _shape(t: torch.Tensor) -> str:
    return " x ".join(str(d) for d in t.shape[1:])


def block_shapes(arch: str, in_channels: int, input_size: int, block: str, **model_options) -> dict:
    """Output shapes of each part of one block (e.g. ``layer2.0``), from a real forward pass."""
    model = build_model(arch, 10, in_channels, input_size=input_size, **model_options).eval()
    named = dict(blocks(model))
    if block not in named:
        raise ValueError(_("unknown block {block}; choose one of: {names}").format(
                             block=f"{block!r}", names=', '.join(named)))
    target = named[block]
    shapes: dict[str, str] = {}
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: shapes.__setitem__(n, _shape(o)))
             for n, m in target.named_children()]
    hooks.append(target.register_forward_hook(
        lambda m, i, o: shapes.update({"input": _shape(i[0]), "output": _shape(o)})))
    with torch.no_grad():
        model(torch.zeros(1, in_channels, input_size, input_size))
    for h in hooks:
        h.remove()
    return {"shapes": shapes, "bottleneck": isinstance(target, Bottleneck),
            "residual": target.residual, "projection": target.downsample is not None,
            "stride": target.stride, "blocks": list(named)}


NORM_LABELS = {"batch": N_("batch norm"), "group": N_("group norm"), "layer": N_("layer norm"),
               "none": N_("no norm (identity)")}


def block_dot(arch: str, in_channels: int, input_size: int, block: str = "layer1.0", *,
              activation: str = "relu", norm: str = "batch", **model_options) -> str:
    """Graphviz DOT source of one block with its shapes (st.graphviz_chart draws it)."""
    info = block_shapes(arch, in_channels, input_size, block, activation=activation, norm=norm,
                        **model_options)
    norm_label = _(NORM_LABELS[norm])
    s = info["shapes"]
    convs = [("conv1", "1x1" if info["bottleneck"] else "3x3"), ("conv2", "3x3")]
    if info["bottleneck"]:
        convs.append(("conv3", "1x1"))
    lines = ['digraph block {', '  rankdir=TB; node [shape=box, style="rounded,filled", '
             'fillcolor="#eef3fb", fontname="Helvetica", fontsize=11]; edge [fontsize=10];',
             f'  input [label="x\\n{s["input"]}", shape=plain, style=""];']
    prev = "input"
    for i, (name, kernel) in enumerate(convs, start=1):
        stride = _(", stride {n}").format(n=info["stride"]) if info["stride"] != 1 and (
            (info["bottleneck"] and name == "conv2") or (not info["bottleneck"] and name == "conv1")) else ""
        conv = _("{kernel} conv").format(kernel=kernel)
        lines.append(f'  {name} [label="{conv}{stride}\\n{s.get(name, "")}"];')
        lines.append(f'  bn{i} [label="{norm_label}\\n{s.get(f"bn{i}", "")}", fillcolor="#f4f4f4"];')
        lines.append(f"  {prev} -> {name}; {name} -> bn{i};")
        prev = f"bn{i}"
        if i < len(convs):
            lines.append(f'  act{i} [label="{activation}", fillcolor="#fff4e0"];')
            lines.append(f"  {prev} -> act{i};")
            prev = f"act{i}"
    last_act = f"act{len(convs)}"
    if info["residual"]:
        lines.append('  add [label="+", shape=circle, fillcolor="#e6f4ea", fontsize=16];')
        lines.append(f'  {prev} -> add [label=" F(x)"];')
        if info["projection"]:
            projection = _("1x1 conv, stride {n}").format(n=info["stride"])
            lines.append(f'  proj [label="{projection} + {norm_label}\\n'
                         f'{s.get("downsample", "")}", fillcolor="#e6f4ea"];')
            lines.append(f'  input -> proj [style=dashed]; proj -> add [style=dashed, label=" {_("projection")}"];')
        else:
            lines.append(f'  input -> add [style=dashed, label=" {_("identity x")}"];')
        prev = "add"
    lines.append(f'  {last_act} [label="{activation}", fillcolor="#fff4e0"];')
    lines.append(f'  output [label="{_("output")}\\n{s["output"]}", shape=plain, style=""];')
    lines.append(f"  {prev} -> {last_act}; {last_act} -> output;")
    lines.append("}")
    return "\n".join(lines)
