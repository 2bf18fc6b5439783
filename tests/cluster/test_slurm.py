"""The executor contract on a real single-node Slurm (issue 30); see cluster.py."""

from __future__ import annotations

import importlib.util
import shutil

import pytest
from cluster import ROOT, contract, in_private_network, need

# The contract's own runs take 2-4 minutes; the script's subprocess timeout bounds it.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


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
