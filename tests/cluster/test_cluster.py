"""The cluster executors against real local instances (issue 30): a Ray head and a
single-node Slurm, each started by the test and stopped after it, run tests/core/jobs/test_executor_contract.py
(the same tests the local executor passes) with the executor set.

Every address stays on loopback: the test makes a private network namespace (``unshare
--net``, then ``ip link set lo up``) and runs the cluster, its workers and the test driver in
it. There Ray's node address is 127.0.0.1 (checked; outside, Ray binds the machine's own
interface whatever it is told), and Slurm's daemons talk over 127.0.0.1. Skipped with a reason
where the packages are missing, unless REQUIRE_CLUSTER is set (CI sets it).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]  # the checkout
BIN = Path(sys.executable).parent


def need(what: str, present: bool, install: str) -> None:
    if present:
        return
    message = f"{what} is missing ({install})"
    if os.environ.get("REQUIRE_CLUSTER"):
        pytest.fail(f"REQUIRE_CLUSTER is set but {message}")
    pytest.skip(message)


def in_private_network(script: str, timeout: float) -> subprocess.CompletedProcess:
    """Run ``script`` (bash) in a new network namespace with only loopback, as root."""
    need("unshare --net (root)", shutil.which("unshare") is not None and os.geteuid() == 0,
         "run the cluster tests as root, as CI does")
    return subprocess.run(["unshare", "--net", "bash", "-c", f"set -e\nip link set lo up\n{script}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def contract(executor: str, extra_env: str = "") -> str:
    """The nested pytest run of the contract tests with ``executor``."""
    return (f"{extra_env} RESNET_WORKBENCH_EXECUTOR={executor} {sys.executable} -m pytest -q -m slow "
            "-p no:cacheprovider tests/core/jobs/test_executor_contract.py")


def test_the_contract_on_a_local_ray_head():
    need("Ray", importlib.util.find_spec("ray") is not None, "pip install -r requirements-cluster.txt")
    ray = BIN / "ray"
    script = f"""
{ray} start --head --port=6379 --num-cpus=2 --include-dashboard=false --disable-usage-stats >/dev/null 2>&1
trap '{ray} stop --force >/dev/null 2>&1' EXIT
{sys.executable} -c "import ray; ray.init(address='127.0.0.1:6379', logging_level='ERROR'); \\
print('node address', *[n['NodeManagerAddress'] for n in ray.nodes()])"
{contract("ray", "RESNET_WORKBENCH_RAY_ADDRESS=127.0.0.1:6379")}
echo "== the class server on Ray"
RESNET_WORKBENCH_EXECUTOR=ray RESNET_WORKBENCH_RAY_ADDRESS=127.0.0.1:6379 {sys.executable} -m pytest \
    -q -m slow -p no:cacheprovider tests/cluster/test_class_on_cluster.py
"""
    done = in_private_network(script, timeout=1200)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    contract_out, class_out = done.stdout.split("== the class server on Ray")
    assert "node address 127.0.0.1" in contract_out
    assert "7 passed" in contract_out, contract_out[-3000:]
    assert "1 passed" in class_out, class_out[-3000:]


def test_the_contract_on_a_single_node_slurm(tmp_path):
    need("submitit", importlib.util.find_spec("submitit") is not None, "pip install -r requirements-cluster.txt")
    need("Slurm and munge", all(shutil.which(p) for p in ("slurmctld", "slurmd", "sbatch", "munged")),
         "apt-get install slurm-wlm munge")
    slurm = ROOT / "tests" / "cluster" / "slurm.sh"
    script = f"""
export SLURM_CONF={tmp_path}/slurm/slurm.conf
{slurm} start {tmp_path}/slurm
trap '{slurm} stop {tmp_path}/slurm' EXIT
{contract("slurm")}
"""
    done = in_private_network(script, timeout=1500)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "7 passed" in done.stdout, done.stdout[-3000:]
