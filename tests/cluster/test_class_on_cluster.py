"""A class server whose runs train on a cluster executor (issue 30): two students' challenge
runs train side by side on the cluster's two slots, the leaderboard fills, and SIGTERM to
the server leaves the cluster's runs finished or cleanly stopped and resumable, none left
training. tests/cluster/test_ray.py runs this file inside the Ray head's network namespace with
RESNET_WORKBENCH_EXECUTOR=ray; elsewhere it is skipped.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from resnet_core import RunStore
from resnet_core.classroom import Classroom
from resnet_core.jobs.manager import JobManager
from resnet_core.runs.folder import SERVER_GONE
from resnet_core.training.checkpoint import load_checkpoint

from e2e import ARTIFACTS, chromium, class_env, join, streamlit_server
from helpers import TOKEN, leave_ray_driver, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
EXECUTOR = os.environ.get("RESNET_WORKBENCH_EXECUTOR", "local")


@pytest.mark.skipif(EXECUTOR == "local", reason="run by tests/cluster/test_ray.py with a cluster executor")
def test_two_students_train_side_by_side_on_the_cluster_and_sigterm_leaves_nothing_orphaned(tmp_path):
    runs = tmp_path / "runs"
    Classroom(runs, teacher_token=TOKEN).open_challenge("digits", 60)
    env = class_env(runs, RESNET_WORKBENCH_TEACHER_TOKEN=TOKEN)
    with streamlit_server(env, with_process=True) as (url, server), chromium() as browser:
        pages = {}
        for name, epochs in (("Ada", "30"), ("Bob", "2")):
            page = pages[name] = browser.new_context(viewport={"width": 1400, "height": 1800}).new_page()
            join(page, url, name)
            page.goto(url + "/challenge")
            page.get_by_role("button", name="Submit my run").wait_for(timeout=60_000)
            page.get_by_label("Epochs").fill(epochs)
            page.get_by_role("button", name="Submit my run").click()
            try:
                page.get_by_role("heading", name="Your runs").wait_for(timeout=60_000)
            finally:
                page.screenshot(path=str(ARTIFACTS / f"class_on_{EXECUTOR}_{name}.png"))
        # Side by side on the cluster's two slots.
        wait_for(lambda: sum(r.state == "running" for r in RunStore(runs).runs()) == 2, 120)
        assert {r.status.get("executor") for r in RunStore(runs).runs()} == {EXECUTOR}
        # Bob's short run ends; the leaderboard on Ada's page fills without a reload.
        pages["Ada"].locator("[data-testid='stTable']").get_by_text("Bob").wait_for(timeout=180_000)
        pages["Ada"].screenshot(path=str(ARTIFACTS / f"class_on_{EXECUTOR}.png"))
        server.send_signal(signal.SIGTERM)
        server.wait(120)
    by_owner = {r.owner.name: r for r in RunStore(runs).runs()}
    assert by_owner["Bob"].state == "completed"
    ada = by_owner["Ada"]
    assert ada.state == "stopped" and ada.status["error"] == SERVER_GONE, ada.status
    assert not Path(f"/proc/{ada.status['pid']}").exists()  # nothing trains without a server
    # ... and Ada's run resumes to its end on the same cluster.
    # Past where its last checkpoint stands: a stop can land on an epoch's last step, before
    # the epoch's end is counted (checkpoint epoch k, step (k + 1) x steps per epoch), so
    # "one epoch more" is k + 2.
    last = load_checkpoint(ada.checkpoint("last")) if ada.has_checkpoint("last") else {"epoch": 0}
    jobs = JobManager(runs, warm_worker=False)
    try:
        jobs.resume(ada.id, epochs=int(last["epoch"]) + 2)
        assert jobs.wait(ada.id, 300)
        resumed = RunStore(runs).get(ada.id)
        assert resumed.state == "completed", (resumed.status, resumed.log_path.read_text()[-2000:])
    finally:
        jobs.close()
        leave_ray_driver()
