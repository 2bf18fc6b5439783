"""What a job may ask for: processes per run, threads per child; this machine's name."""

from __future__ import annotations

import os
import socket

from resnet_core.device import cpu_cores, device_count
from resnet_core.errors import RunError
from resnet_core.i18n import _


def check_processes(processes: int, device: str, batch_size: int, *,
                    available: int | None = None) -> None:
    """A one-line RunError unless ``processes`` fits the device and splits the batch.
    ``available``: GPUs (or cores) of one node where the runs train (default: this machine)."""
    where = "this machine" if available is None else "a node of the cluster"
    available = device_count(device) if available is None else available
    if not isinstance(processes, int) or isinstance(processes, bool) or processes < 1:
        raise RunError(_("processes must be a whole number >= 1, got {processes}").format(
                           processes=f"{processes!r}"))
    if processes > available:
        what = "GPUs" if device == "cuda" else "CPU cores"
        raise RunError(_("{processes} processes asked for but {where} has {available} {what}; "
                         "use 1..{available}").format(
                           processes=processes, where=where, available=available, what=what))
    if batch_size % processes:
        raise RunError(_("batch size {batch_size} must be divisible by the {processes} processes").format(
                           batch_size=batch_size, processes=processes))


def job_threads(concurrent_jobs: int, cores: int | None = None) -> int:
    """CPU threads for each training child, chosen so that jobs never oversubscribe the cores.

    With cores to spare, one is left to the web server and the browser. On a 2-core machine
    both go to training: one thread was slower there (6,030-6,204 images/s against 6,482 with
    two, with a live page open; benchmarks/RESULTS.md).
    """
    cores = cores or usable_cores()
    usable = cores - 1 if cores > 2 else cores
    return max(1, usable // max(1, concurrent_jobs))


def usable_cores() -> int:
    """The cores this process may use: its CPU affinity (taskset, a container's cpuset), and
    no more than OMP_NUM_THREADS where the server was started with it (its operator's cap,
    which the children inherit rather than undo: two trainings with two threads each on two
    cores ran 4x slower than with one each; benchmarks/RESULTS.md, "Threads")."""
    cores = cpu_cores()
    cap = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, min(cores, int(cap)) if cap.isdigit() and int(cap) > 0 else cores)


def hostname() -> str:
    return socket.gethostname()
