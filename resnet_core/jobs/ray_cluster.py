"""The Ray executor: each released run is one Ray task on the cluster the server joins.

The task runs the same training child the local executor runs, on whichever node Ray's
scheduler picks (free CPUs, or GPUs for a cuda run), with the run folder on the shared file
system. Ray never queues for us: the manager releases a run only when ``slots`` says there
is room, so Ray places every task it is given at once. ``max_retries=0``: a task whose worker
died is reported lost (the run becomes interrupted and Resume continues it from its
checkpoint), never started again behind our back.
"""

from __future__ import annotations

import threading
import time

from resnet_core.errors import ConfigError
from resnet_core.i18n import _
from resnet_core.jobs.executor import Exit, Launch, run_on_node

SLOTS_TTL_S = 5.0  # the cluster's size is asked again after this long (nodes come and go)


def _check_reachable(address: str, timeout: float = 3.0) -> None:
    """A one-line ConfigError for a host:port nothing listens on (ray.init would retry it for
    minutes); "auto" is Ray's to find."""
    import socket

    host, _colon, port = address.rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise ConfigError(_("no Ray cluster at {address} ({value}); start one with `ray start "
                            "--head` or set RESNET_WORKBENCH_RAY_ADDRESS").format(
                              address=address, value=e.strerror or e)) from e


class RayHandle:
    def __init__(self, ref, where: str) -> None:
        self.ref = ref
        self.where = where

    def wait(self) -> Exit:
        import ray

        # The handle lets go of its ObjectRef here: one freed later, by the garbage collector
        # after the interpreter's atexit ray.shutdown, calls into a core worker that is gone,
        # and Ray then ends the process with exit code 1 (seen once in CI, after every test
        # had passed).
        ref, self.ref = self.ref, None
        try:
            return Exit(int(ray.get(ref)))
        except ray.exceptions.TaskCancelledError:
            return Exit(None, "its Ray task was cancelled")
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as e:
            return Exit(None, f"the Ray worker running it died ({type(e).__name__})")
        except ray.exceptions.RayError as e:
            return Exit(None, f"Ray lost the task: {str(e).splitlines()[0][:200]}")

    def stop(self) -> None:
        """The STOP file written by the manager is the cue; nothing to close here."""


class RayExecutor:
    name = "ray"

    def __init__(self, address: str | None, *, cpus_per_run: int = 1) -> None:
        try:
            import ray
        except ImportError as e:
            raise ConfigError(_("the ray executor needs Ray: pip install -r "
                                "requirements-cluster.txt")) from e
        self.address = address or "auto"
        self.cpus_per_run = max(1, int(cpus_per_run))
        if not ray.is_initialized():
            _check_reachable(self.address)
            try:
                ray.init(address=self.address, logging_level="ERROR", log_to_driver=False)
            except (ConnectionError, RuntimeError) as e:
                raise ConfigError(_("no Ray cluster at {address} ({value}); start one with `ray "
                                    "start --head` or set RESNET_WORKBENCH_RAY_ADDRESS").format(
                                      address=self.address, value=str(e).splitlines()[0][:160])) from e
        self._task = ray.remote(max_retries=0)(run_on_node)
        self._lock = threading.Lock()
        self._resources: tuple[float, dict] = (0.0, {})

    def _cluster(self) -> dict:
        import ray

        with self._lock:
            at, resources = self._resources
            if time.monotonic() - at > SLOTS_TTL_S:
                resources = ray.cluster_resources()
                self._resources = (time.monotonic(), resources)
            return resources

    def slots(self, device: str) -> int:
        resources = self._cluster()
        if device == "cuda":
            return int(resources.get("GPU", 0))
        return int(resources.get("CPU", 0) // self.cpus_per_run)

    def device_type(self, device: str) -> str:
        if device in ("auto", "", None):
            return "cuda" if self._cluster().get("GPU", 0) else "cpu"
        if device.startswith("cuda") and not self._cluster().get("GPU", 0):
            raise ConfigError(_("device cuda was asked for but the Ray cluster has no GPU; use "
                                "auto or cpu"))
        return "cuda" if device.startswith("cuda") else "cpu"

    def device_count(self, device: str) -> int:
        import ray

        kind = "GPU" if device == "cuda" else "CPU"
        per_node = [n["Resources"].get(kind, 0) for n in ray.nodes() if n.get("Alive")]
        return int(max(per_node, default=0))

    def describe(self) -> str:
        resources = self._cluster()
        return _("ray at {address}: {cpu_slots} CPU slots ({cpus} CPUs, {per_run} per run), {gpu_slots} GPU "
                 "slots").format(address=self.address, cpu_slots=self.slots("cpu"), cpus=int(resources.get("CPU", 0)),
                                 per_run=self.cpus_per_run, gpu_slots=self.slots("cuda"))

    def start(self, launch: Launch) -> RayHandle:
        gpus = launch.processes if launch.device == "cuda" else 0
        ref = self._task.options(num_cpus=max(self.cpus_per_run, launch.cpus), num_gpus=gpus,
                                 name=f"resnet-workbench {launch.run_id}").remote(
            launch.command, launch.env, str(launch.log_path))
        return RayHandle(ref, f"ray task {ref.task_id().hex()[:16]} at {self.address}")

    def close(self) -> None:
        """The driver stays connected for the process's life (ray.shutdown would end the
        tasks still stopping); Ray ends the driver's tasks when the process exits."""
