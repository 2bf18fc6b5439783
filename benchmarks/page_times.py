"""Each page's server time on a Fashion-MNIST run: the first render in a fresh server process
(cold: the dataset read, the model loaded, caches empty) and the next one (warm), under
Streamlit's AppTest, which runs the page script exactly as a server does, without a browser.

    python benchmarks/page_times.py [--steps 60]

Trains one short Fashion-MNIST run with the fast recipe (``--steps`` optimizer steps, then the
final evaluation of the 10,000 test images), then renders every page of the single-user app
with that run selected. The target (issue 29): every page and action under 2 s on the 2-core
CPU, or progress shown. Figures in benchmarks/RESULTS.md, "Fashion-MNIST".
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["home.py", "train.py", "runs.py", "evaluate.py", "explain.py", "predict.py", "lessons.py",
         "deploy.py"]


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
        print("| page | first render (cold) | next render (warm) |\n|---|---|---|")
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


if __name__ == "__main__":
    main()
