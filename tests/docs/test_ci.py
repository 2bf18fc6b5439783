""".ci/run runs the suite in steps, each selecting by marker and folder: a test outside the
folder its step collects would never run in CI, and nothing would say so."""

import re

from helpers import ROOT


def test_every_load_test_is_where_cis_load_step_collects_it():
    step = re.search(r"^run_slow -m load .* (tests/\S+)$", (ROOT / ".ci" / "run").read_text(), re.M)
    assert step, "the load step of .ci/run names the folder it collects"
    marker = re.compile(r"^pytestmark = .*pytest\.mark\.load\b|^@pytest\.mark\.load\b", re.M)
    marked = [p for p in (ROOT / "tests").rglob("*.py") if marker.search(p.read_text())]
    assert marked, "the load test is marked (pytest.mark.load)"
    assert all(p.is_relative_to(ROOT / step.group(1)) for p in marked), (step.group(1), marked)
