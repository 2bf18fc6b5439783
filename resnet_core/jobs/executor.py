"""Where a released job runs: the seam under the job manager.

The manager's queue stays the one source of truth for admission, fairness and class limits
(Ray Jobs has no queue of its own; a Slurm partition's queue knows nothing of a class): it
releases a job only when the executor has a free slot, and the executor runs what it is
given. Three implement it: ``local`` (child processes on this machine, the default),
``ray`` (a task per run on a Ray cluster) and ``slurm`` (a batch job per run through
submitit). Chosen by ``RESNET_WORKBENCH_EXECUTOR`` or the CLI's ``--executor``.

The run folder is the contract on every executor: the runs folder must be one path that
every node reaches (a shared file system), because the child writes status.json,
metrics.jsonl and checkpoints there, and reads its STOP file there, so Stop, live curves,
heartbeats, Resume and the stop reason work the same wherever it trains.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

EXECUTORS = ("local", "ray", "slurm")


@dataclass(frozen=True)
class Launch:
    """One job as the executor gets it: what to run, with what, and what it needs."""

    run_id: str
    run_dir: Path
    command: list[str]  # the training child (or torchrun over it), with this interpreter
    env: dict[str, str]  # what the child needs on top of the node's own environment
    log_path: Path  # stdout and stderr, appended (the run folder's train.log)
    device: str  # "cpu" or "cuda"
    processes: int = 1  # ranks on one node: GPUs under torchrun, else 1
    cpus: int = 1  # CPU cores the run asks for (Ray num_cpus, Slurm --cpus-per-task)


@dataclass(frozen=True)
class Exit:
    """How a job ended, as its executor saw it."""

    returncode: int | None  # the child's exit code (negative: killed by that signal)
    lost: str | None = None  # the executor lost it (worker or node died, job cancelled): why


class Handle(Protocol):
    """A started job."""

    where: str  # for status.json: "pid 123 on host", "ray task ... on node ...", "slurm job 17"

    def wait(self) -> Exit:
        """Block until the job has ended."""

    def stop(self) -> None:
        """Called when the server closes, after the STOP file is written: a second cue
        (the local child's stdin closes); remote jobs read the STOP file."""


class Executor(Protocol):
    name: str

    def slots(self, device: str) -> int:
        """How many runs it can train at once on ``device``: the queue never releases more."""

    def device_type(self, device: str) -> str:
        """``auto``, ``cpu`` or ``cuda`` as it resolves where the runs train."""

    def device_count(self, device: str) -> int:
        """GPUs (or CPU cores) one node has: the most processes a multi-GPU run may use."""

    def start(self, launch: Launch) -> Handle:
        """Run ``launch``; raises OSError (or the executor's own error) if it cannot."""

    def describe(self) -> str:
        """One line for the Home page: which executor, where, how many slots."""

    def close(self) -> None:
        """The manager is closing: release what the executor holds (not the running jobs)."""


def run_on_node(command: list[str], env: dict, log_path: str) -> int:
    """On the node: the training child, its output appended to the run's log; its exit code.
    Its stdin is a pipe held by this task: if the task's worker dies, the pipe closes and the
    child checkpoints and stops (the same cue as a local server's exit)."""
    import os
    import subprocess

    with open(log_path, "ab") as log:
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.PIPE,
                                 env={**os.environ, **env}, start_new_session=True)
        return child.wait()
