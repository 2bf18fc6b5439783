"""What the cluster tests share (issue 30): test_ray.py starts a Ray head and test_slurm.py a
single-node Slurm, each stopped after its test, and each runs tests/core/jobs/test_executor_contract.py
(the same tests the local executor passes) with the executor set. Two files, so that CI's
parallel slow suite (pytest-xdist, a file per worker) runs the two clusters side by side.

Every address stays on loopback: the test makes a private network namespace (``unshare
--net``, then ``ip link set lo up``) and runs the cluster, its workers and the test driver in
it. There Ray's node address is 127.0.0.1 (checked; outside, Ray binds the machine's own
interface whatever it is told), and Slurm's daemons talk over 127.0.0.1. Skipped with a reason
where the packages are missing, unless REQUIRE_CLUSTER is set (CI sets it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
            "-p no:cacheprovider -n 0 tests/core/jobs/test_executor_contract.py")
