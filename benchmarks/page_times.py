"""Each page's server time on a Fashion-MNIST run: the first render in a fresh server process
(cold: the dataset read, the model loaded, caches empty) and the next one (warm), under
Streamlit's AppTest, which runs the page script exactly as a server does, without a browser.

    python benchmarks/page_times.py [--steps 60]

Trains one short Fashion-MNIST run with the fast recipe (``--steps`` optimizer steps, then the
final evaluation of the 10,000 test images), then renders every page of the single-user app
with that run selected. The target (issue 29): every page and action under 2 s on the 2-core
CPU, or progress shown. Figures in benchmarks/RESULTS.md, "Fashion-MNIST".

Last measured (2026-11-29, 2-vCPU Xeon with AMX; RESULTS.md "Fashion-MNIST"): every page
under 2 s on a Fashion-MNIST run but the server's first (3.19 s: imports and calibration)
and evaluating another split (2.75 s, with a spinner).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["home.py", "train.py", "runs.py", "evaluate.py", "explain.py", "predict.py", "lessons.py",
         "deploy.py"]
# The actions a person takes on a page, each timed from the interaction to the page rendered.
ACTIONS = {
    "train.py": [("choose fashion-mnist", lambda at: at.selectbox(key="dataset").set_value("fashion-mnist"))],
    "evaluate.py": [("row-normalise the confusion matrix", lambda at: at.toggle(key="normalize").set_value(True)),
                    ("drill into another true class", lambda at: at.selectbox(key="drill_true").set_value(6)),
                    ("evaluate best.pt on val (6,000 images)",
                     lambda at: (at.radio(key="eval_split").set_value("val"), at.run(),
                                 at.button(key="run_eval").click())[-1])],
    "explain.py": [("another test image", lambda at: at.number_input(key="explain_index").set_value(7)),
                   ("misclassified images", lambda at: at.radio(key="explain_mode").set_value(
                       at.radio(key="explain_mode").options[-2]))],
    "predict.py": [("pick a test image", lambda at: at.radio(key="predict_source").set_value("Pick a test image")),
                   ("a random test image", lambda at: at.button(key="predict_random").click())],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60)
    args = p.parse_args()
    from streamlit.testing.v1 import AppTest

    from resnet_core import TrainConfig, train

    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        start = time.perf_counter()
        run = train(TrainConfig.from_preset("fashion-mnist-fast", max_steps=args.steps,
                                            runs_dir=str(runs), data_root=str(Path(tmp) / "data")),
                    progress=False)
        print(f"trained {run.id} ({args.steps} steps + test evaluation) in "
              f"{time.perf_counter() - start:.1f} s; test accuracy {run.summary()['accuracy']:.4f}")
        os.environ["RESNET_WORKBENCH_RUNS"] = str(runs)
        os.environ["RESNET_WORKBENCH_DATA"] = str(Path(tmp) / "data")
        os.chdir(ROOT)
        sys.path.insert(0, str(ROOT))  # the pages import pages.common, as under `streamlit run`
        print("| page (or action) | first render (cold) / action | next render (warm) |\n|---|---|---|")
        for page in PAGES:
            at = AppTest.from_file(str(ROOT / "pages" / "navigation.py"), default_timeout=120)
            at.run()
            times = []
            for _ in range(2):
                t = time.perf_counter()
                at.switch_page(page).run()
                times.append(time.perf_counter() - t)
            problem = f" (exception: {at.exception[0].message[:80]})" if at.exception else ""
            print(f"| {page} | {times[0]:.2f} s | {times[1]:.2f} s |{problem}", flush=True)
            for label, act in ACTIONS.get(page, []):
                act(at)
                t = time.perf_counter()
                at.run()
                problem = f" (exception: {at.exception[0].message[:80]})" if at.exception else ""
                print(f"| {page}: {label} | {time.perf_counter() - t:.2f} s | |{problem}", flush=True)


if __name__ == "__main__":
    main()
