"""The executor contract and the class server on a real local Ray head (issue 30); see cluster.py."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from cluster import BIN, contract, in_private_network, need

# The contract's own runs take 2-4 minutes; the script's subprocess timeout bounds it.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


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
    -q -m slow -p no:cacheprovider -n 0 tests/cluster/test_class_on_cluster.py
"""
    done = in_private_network(script, timeout=1200)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    contract_out, class_out = done.stdout.split("== the class server on Ray")
    assert "node address 127.0.0.1" in contract_out
    assert "7 passed" in contract_out, contract_out[-3000:]
    assert "1 passed" in class_out, class_out[-3000:]
