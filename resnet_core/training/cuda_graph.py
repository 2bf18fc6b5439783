"""The training step's forward and backward pass replayed as one CUDA graph (GPUs only).

Why: on small images a ResNet step is a few hundred tiny kernels, and launching them one by
one from Python takes longer than running them: on an H100, digits/resnet20 trained at about
4,500 images/s in fp32 and 3,000 in bf16, slower than a 2-core CPU. A CUDA graph records the
kernels of one forward and backward pass once and then launches them all with one call (the
"whole-network capture" recipe of PyTorch's CUDA-graphs notes).

The optimizer step and the learning-rate schedule stay outside the graph: torch's SGD reads
a tensor learning rate on the host (``alpha=-lr``), which a graph cannot do, and they are a
handful of multi-tensor kernels, not hundreds.

What a capture relies on, and the Trainer guarantees: every batch has the same shape (the
trainer drops the last partial batch), the model stays in train mode with no hooks during
capture, nothing in the forward or backward pass reads a value on the host, and gradients are
never set to None after the capture (each replay writes them in place).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import Tensor

from resnet_core.errors import first_line

StepFn = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]

# Eager steps before the capture: cuDNN's autotuning, the optimizer's momentum buffers and
# cuBLAS's workspace all come into being during these, not inside the graph.
WARMUP_STEPS = 3


class GraphedStep:
    """Calls ``forward_backward(x, y) -> (loss, logits)`` eagerly for the first steps, then
    captures it once and replays the graph for every later batch.

    The step runs on a side stream of its own (warm-up, capture and replay alike), ordered
    against the caller's stream, as PyTorch's notes ask. A capture that fails (an operation
    a graph cannot hold) warns once and leaves training eager; nothing is lost.
    """

    def __init__(self, forward_backward: StepFn, device: torch.device) -> None:
        self.forward_backward = forward_backward
        self.stream = torch.cuda.Stream(device)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.failed = False
        self.calls = 0

    @property
    def captured(self) -> bool:
        return self.graph is not None

    def __call__(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        self.calls += 1
        if self.graph is not None:
            return self._replay(x, y)
        if self.failed or self.calls <= WARMUP_STEPS:
            return self._on_side_stream(self.forward_backward, x, y)
        return self._capture_and_replay(x, y)

    def _on_side_stream(self, fn: Callable, *args):
        caller = torch.cuda.current_stream()
        self.stream.wait_stream(caller)
        with torch.cuda.stream(self.stream):
            out = fn(*args)
        caller.wait_stream(self.stream)
        return out

    def _capture_and_replay(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        # Inputs live at fixed addresses; each replay reads whatever was copied there.
        self.static_x, self.static_y = x.clone(), y.clone()
        graph = torch.cuda.CUDAGraph()
        torch.cuda.synchronize()
        try:
            with torch.cuda.graph(graph, stream=self.stream):
                self.static_out = self.forward_backward(self.static_x, self.static_y)
        except Exception as e:  # noqa: BLE001 - any failure means: stay eager
            self.failed = True
            warnings.warn(f"could not capture the training step as a CUDA graph "
                          f"({first_line(e, 200)}); training continues without it",
                          RuntimeWarning, stacklevel=3)
            torch.cuda.synchronize()
            return self._on_side_stream(self.forward_backward, x, y)
        self.graph = graph
        return self._replay(x, y)

    def _replay(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        def replay() -> tuple[Tensor, Tensor]:
            self.static_x.copy_(x)
            self.static_y.copy_(y)
            self.graph.replay()
            return self.static_out

        return self._on_side_stream(replay)


def use_cuda_graph(enabled: bool, device: torch.device, *, distributed: bool, compiled: bool,
                   grad_scaler: bool) -> bool:
    """Whether the trainer captures its step: asked for, on CUDA, and none of the cases a
    plain capture does not cover (DDP's bucketed all-reduce, torch.compile's own graphs in
    mode="reduce-overhead", the fp16 grad scaler's host-side inf check)."""
    return (enabled and device.type == "cuda" and not distributed and not compiled
            and not grad_scaler)
