"""Deploy in a real browser: start a service for a run, replay the test split through it and
watch the live metrics reach the offline evaluation's, stop it."""

from __future__ import annotations

import socket

import pytest

from e2e import ARTIFACTS, browser_page, streamlit_server, wait_for_app

# A real service, a replay of the whole test split and a browser: about 40 s, so it runs
# with the slow checks (CI runs them too) and the default run stays well under 10 minutes.
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_start_replay_watch_and_stop_a_service(short_run):
    env = {"RESNET_WORKBENCH_RUNS": str(short_run.dir.parent)}
    offline = short_run.summary("test")["accuracy"]
    with streamlit_server(env) as url, browser_page(height=1800) as page:
        wait_for_app(page, f"{url}/deploy", "Start the service")
        page.get_by_role("button", name="Start the service").click()
        page.get_by_text("Serving").first.wait_for(timeout=120_000)
        address = page.locator("code").filter(has_text="curl -F file=@").first.inner_text()
        assert address.startswith("curl -F file=@digit.png http://127.0.0.1:")
        page.get_by_text("Images served").wait_for(timeout=30_000)
        # Issue 38, item 2: before any request there is no latency yet; that was a traceback.
        page.get_by_text("no requests yet").first.wait_for(timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
        page.get_by_role("button", name="Replay the test split").click()
        page.get_by_text("Replay: ").wait_for(timeout=30_000)
        page.get_by_text("(done)").wait_for(timeout=120_000)
        # The live charts and metrics move: images were served, and the live accuracy over the
        # replayed test split is the offline accuracy.
        page.wait_for_function("() => !document.body.innerText.includes('Images served\\n0\\n')",
                               timeout=30_000)
        page.get_by_role("cell", name=f"{offline:.4f}").first.wait_for(timeout=30_000)
        assert page.get_by_role("cell", name=f"{offline:.4f}").count() >= 2  # live == offline
        page.screenshot(path=str(ARTIFACTS / "deploy.png"))
        page.get_by_role("button", name="Stop the service").click()
        page.get_by_role("button", name="Start the service").wait_for(timeout=60_000)
        # The service is gone, not only hidden: its port refuses connections.
        port = int(address.rsplit(":", 1)[1].split("/")[0])
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
