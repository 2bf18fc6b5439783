"""The Slurm executor: each released run is one batch job, submitted with submitit.

The job runs the same training child as the local executor (executor.run_on_node) on the
node Slurm picks, with the run folder on the cluster's shared file system. submitit keeps its
job files (the pickled call, the job's own stdout and stderr) under ``folder``, by default
<runs>/.slurm/. The partition's capacity is read from ``sinfo`` (CPUs of its idle and
allocated nodes); the manager releases no more runs than it holds, so the workbench's queue,
not Slurm's, decides who goes next.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

from resnet_core.errors import ConfigError
from resnet_core.i18n import _
from resnet_core.jobs.executor import Exit, Launch, run_on_node

SLOTS_TTL_S = 10.0
LOST_JOB_STATES = ("CANCELLED", "NODE_FAIL", "PREEMPTED", "TIMEOUT", "BOOT_FAIL", "DEADLINE",
                   "OUT_OF_MEMORY")
POLL_S = 1.0  # how often a job's state is asked (squeue/sacct through submitit)
ACTIVE_JOB_STATES = ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "RESIZING",
                     "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT")


class SlurmHandle:
    def __init__(self, job) -> None:
        self.job = job
        self.where = f"slurm job {job.job_id}"

    def state(self) -> str | None:
        """The job's state as squeue has it (terminal states stay listed for MinJobAge), or
        None once Slurm has forgotten it. squeue, not sacct: a cluster without accounting
        (this test's) has no sacct, which submitit's own watcher uses."""
        try:
            out = subprocess.run(["squeue", "-h", "--states=all", "-j", str(self.job.job_id), "-o", "%T"],
                                 capture_output=True, text=True, timeout=30).stdout.split()
        except (OSError, subprocess.SubprocessError):
            return "UNKNOWN"
        return out[0].upper() if out else None

    def wait(self) -> Exit:
        while (state := self.state()) in ACTIVE_JOB_STATES or state == "UNKNOWN":
            time.sleep(POLL_S)
        if state in LOST_JOB_STATES:  # scancel, a dead node, the time limit: Slurm ended it
            return Exit(None, f"{self.where} ended {state}")
        if self.job.paths.result_pickle.exists():  # the call returned: the child's exit code
            try:
                return Exit(int(self.job.result()))
            except Exception as e:  # submitit: FailedJobError (the call raised)
                return Exit(None, f"{self.where} failed: {str(e).splitlines()[-1][:200]}")
        return Exit(None, f"{self.where} ended {state or 'without a result'}")

    def stop(self) -> None:
        """The STOP file written by the manager is the cue; nothing to close here."""


class SlurmExecutor:
    name = "slurm"

    def __init__(self, folder: Path, *, partition: str | None = None, cpus_per_run: int = 1,
                 timeout_min: int = 24 * 60) -> None:
        try:
            import submitit
        except ImportError as e:
            raise ConfigError(_("the slurm executor needs submitit: pip install -r "
                                "requirements-cluster.txt")) from e
        if shutil.which("sbatch") is None:
            raise ConfigError(_("the slurm executor needs Slurm's sbatch on the PATH (a login "
                                "node)"))
        self.folder = Path(folder)
        self.partition = partition
        self.cpus_per_run = max(1, int(cpus_per_run))
        self.timeout_min = timeout_min
        self._submitit = submitit
        self._lock = threading.Lock()
        self._cpus: tuple[float, int] = (0.0, 0)

    def _partition_cpus(self) -> int:
        with self._lock:
            at, cpus = self._cpus
            if time.monotonic() - at > SLOTS_TTL_S:
                args = ["sinfo", "--noheader", "--responding", "-o", "%C"]
                if self.partition:
                    args += ["--partition", self.partition]
                try:
                    out = subprocess.run(args, capture_output=True, text=True, timeout=20).stdout
                    # %C: allocated/idle/other/total CPUs, one line per partition
                    cpus = sum(int(line.split("/")[3]) - int(line.split("/")[2])
                               for line in out.split() if line.count("/") == 3)
                except (OSError, subprocess.SubprocessError, ValueError):
                    cpus = 0
                self._cpus = (time.monotonic(), cpus)
            return cpus

    def slots(self, device: str) -> int:
        if device == "cuda":
            return 0  # GPUs through --gres: counted per node by sinfo %G; not on this cluster
        return self._partition_cpus() // self.cpus_per_run

    def device_type(self, device: str) -> str:
        if device and device.startswith("cuda"):
            raise ConfigError(_("device cuda on Slurm needs a partition with GPUs (--gres); "
                                "this one has none known: use auto or cpu"))
        return "cpu"

    def device_count(self, device: str) -> int:
        return 0 if device == "cuda" else self._partition_cpus()

    def describe(self) -> str:
        where = (_("partition {name}").format(name=self.partition) if self.partition
                 else _("the default partition"))
        return _("slurm ({where}): {slots} slots ({cpus} CPUs, {per_run} per run)").format(
            where=where, slots=self.slots("cpu"), cpus=self._partition_cpus(), per_run=self.cpus_per_run)

    def start(self, launch: Launch) -> SlurmHandle:
        executor = self._submitit.AutoExecutor(folder=self.folder / "%j", cluster="slurm")
        params = {"timeout_min": self.timeout_min, "cpus_per_task": max(self.cpus_per_run, launch.cpus),
                  "nodes": 1, "tasks_per_node": 1, "name": f"resnet-workbench-{launch.run_id}"}
        if self.partition:
            params["slurm_partition"] = self.partition
        if launch.device == "cuda":
            params["slurm_gres"] = f"gpu:{launch.processes}"
        executor.update_parameters(**params)
        job = executor.submit(run_on_node, launch.command, launch.env, str(launch.log_path))
        return SlurmHandle(job)

    def close(self) -> None:
        """Nothing held: the jobs read their STOP files."""
