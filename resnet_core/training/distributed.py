"""Data-parallel training under ``torchrun``: the process group and the few collectives we use.

``torchrun --standalone --nproc_per_node=N -m resnet_core train ...`` starts N copies of the
CLI with RANK / LOCAL_RANK / WORLD_SIZE in the environment; ``Distributed.from_env`` joins
them into one process group (gloo on the CPU, nccl on CUDA, each rank on GPU LOCAL_RANK).
Without those variables (or with WORLD_SIZE=1) every call here is a cheap no-op, so the
trainer has one code path.

The recipe does not change with the world size: ``batch_size`` is the global batch, split
evenly over the ranks, and each global batch is the one a single process would have drawn,
so the same command gives comparable results on 1 or N processes. Only rank 0 writes the run
folder; the others train and take part in the collectives.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from resnet_core.device import cpu_cores
from resnet_core.errors import ConfigError
from resnet_core.i18n import _


@dataclass
class Distributed:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    local_world_size: int = 1
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device: torch.device) -> Distributed:
        """Join torchrun's process group if this process was started by torchrun."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        d = cls(rank=int(os.environ["RANK"]), local_rank=int(os.environ.get("LOCAL_RANK", "0")),
                world_size=world, local_world_size=int(os.environ.get("LOCAL_WORLD_SIZE", "1")),
                backend="nccl" if device.type == "cuda" else "gloo")
        if not dist.is_initialized():
            dist.init_process_group(backend=d.backend)
        return d

    def device(self, device: torch.device) -> torch.device:
        """Each rank on its own GPU; on the CPU they share the host."""
        if not self.enabled or device.type != "cuda":
            return device
        if self.local_rank >= torch.cuda.device_count():
            raise ConfigError(_("rank {rank} wants GPU {local_rank} but this machine has "
                                "{device_count}; use --nproc_per_node <= the GPU count").format(
                                  rank=self.rank, local_rank=self.local_rank, device_count=torch.cuda.device_count()))
        torch.cuda.set_device(self.local_rank)
        return torch.device("cuda", self.local_rank)

    def cpu_threads(self) -> int | None:
        """Threads per rank on the CPU so that N ranks do not oversubscribe the cores."""
        if not self.enabled:
            return None
        return max(1, cpu_cores() // self.local_world_size)

    def local_batch_size(self, batch_size: int) -> int:
        if batch_size % self.world_size:
            raise ConfigError(_("batch size {batch_size} must be divisible by the world size "
                                "{world_size} (it is the global batch, split over the ranks)").format(
                                  batch_size=batch_size, world_size=self.world_size))
        return batch_size // self.world_size

    def shard(self, order: torch.Tensor, batch_size: int, steps: int) -> torch.Tensor:
        """This rank's part of each global batch of ``order`` (drop_last, as training uses)."""
        if not self.enabled:
            return order
        local = batch_size // self.world_size
        batches = order[: steps * batch_size].view(steps, batch_size)
        return batches[:, self.rank * local:(self.rank + 1) * local].reshape(-1)

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        """All-reduce (sum) in place; a no-op on one process."""
        if self.enabled:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank if it is true on any (a stop request, say)."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def broadcast(self, obj):
        """Rank 0's ``obj`` on every rank (a run folder's path, say)."""
        if not self.enabled:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()
