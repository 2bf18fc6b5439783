"""What switching language costs a person: from the click on 简体中文 (or English) in the
sidebar's switch to the page in the other language, in a real server and Chromium, on the
Train page while a run trains (the run must not notice) and on Home with no run.

    python benchmarks/language_switch.py [--rounds 5]

Each round switches to Chinese and back; the figure is the click to the page's heading in the
new language, as Playwright sees it. The reference in the same invocation is a plain rerun of
the same page (the live curves' "Show as a table" toggle): a switch should cost a rerun, not a
reload of models or data (issue 39).

Last measured (2026-12-06, this session's VM, 2 vCPUs, no GPU; RESULTS.md "Languages"), five
rounds, medians: to 简体中文 0.42 s, to English 0.63 s, a plain rerun of the page 0.42 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from e2e import chromium, streamlit_server  # noqa: E402

HEADINGS = {"简体中文": "训练", "English": "Train"}


def switch(page, to: str) -> float:
    """Click the switch to ``to``; seconds until the Train page's heading is in it."""
    page.get_by_test_id("stSelectbox").filter(has_text="Language · 语言").click()
    start = time.monotonic()
    page.get_by_role("option", name=to).click()
    page.get_by_role("heading", name=HEADINGS[to], exact=True).wait_for(timeout=60_000)
    return time.monotonic() - start


def rerun(page) -> float:
    """Turn the live curves' "Show as a table" on (a rerun of the page and nothing else); seconds
    until the table is drawn. Then off again."""
    toggle = page.get_by_text("Show as a table", exact=True).first  # its label takes the click
    start = time.monotonic()
    toggle.click()
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=60_000)
    took = time.monotonic() - start
    toggle.click()
    page.locator("[data-testid='stDataFrame']").first.wait_for(state="detached", timeout=60_000)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"RESNET_WORKBENCH_RUNS": str(Path(tmp) / "runs"), "RESNET_WORKBENCH_REFRESH_S": "1"}
        with streamlit_server(env) as url, chromium() as browser:
            page = browser.new_context(viewport={"width": 1400, "height": 1400}, locale="en-US").new_page()
            page.goto(url + "/train")
            page.get_by_role("spinbutton", name="Epochs").fill("3000")
            page.get_by_role("spinbutton", name="Epochs").press("Enter")
            page.get_by_role("button", name="Train", exact=True).click()
            page.get_by_text("Train loss").first.wait_for(timeout=120_000)
            to_zh, to_en, reruns = [], [], []
            for _ in range(args.rounds):
                time.sleep(1.0)
                to_zh.append(switch(page, "简体中文"))
                time.sleep(1.0)
                to_en.append(switch(page, "English"))
                time.sleep(1.0)
                reruns.append(rerun(page))
            page.get_by_role("button", name="Stop").click()
    print("| on the Train page, a run training | median | min | max |")
    print("|---|---|---|---|")
    for name, values in (("switch to 简体中文", to_zh), ("switch to English", to_en),
                         ("a plain rerun (a toggle), the reference", reruns)):
        print(f"| {name} | {statistics.median(values):.2f} s | {min(values):.2f} s | {max(values):.2f} s |")


if __name__ == "__main__":
    main()
