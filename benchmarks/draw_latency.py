"""From pen up to prediction on the Predict page's canvas (issue 17), in one invocation:

    python benchmarks/draw_latency.py [--rounds 10]

A ResNet-20 digits run is trained first; then `streamlit run app.py` and headless Chromium:

1. Draw: on the canvas, a short stroke; the clock starts when the mouse button goes up (the
   canvas sends its strokes), and stops when the page shows the prediction (the drawing's
   model view, the top classes and the saliency overlay all render in the same fragment
   rerun). Clear between rounds.
2. Reference, the same session: "Pick a test image", click Random; the clock stops when the
   new test image's prediction shows. A plain Streamlit button's round trip with the same
   prediction and overlay work, so the ratio is the canvas path's own cost.
3. In process: the work of one redraw alone (render and prepare the strokes, predict,
   saliency), without the browser and the server.
Target: about 300 ms from pen up to prediction for resnet20 on this CPU.

Last measured (2026-11-28, 2 vCPUs; RESULTS.md "Drawing on the Predict page"): pen up to
prediction, median 141 ms (109-201 ms).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from e2e import browser_page, streamlit_server, wait_for_app  # noqa: E402

# torch on the CPU is slow for the first calls with a new input shape (its kernels are chosen
# and warmed); the first rounds of each kind are run and not counted.
WARMUP = 3


def browser_rounds(runs: str, rounds: int) -> tuple[list[float], list[float]]:
    draws, picks = [], []
    with streamlit_server({"RESNET_WORKBENCH_RUNS": runs}) as url, browser_page(height=1600) as page:
        wait_for_app(page, f"{url}/predict", "Download the model")
        page.get_by_text("Draw", exact=True).click()
        canvas = page.locator("canvas").first
        canvas.wait_for(timeout=30_000)
        box = canvas.bounding_box()
        for r in range(rounds + WARMUP):
            page.get_by_text("Draw on the black square").wait_for(timeout=30_000)
            x = box["x"] + box["width"] * (0.4 + 0.02 * r)
            page.mouse.move(x, box["y"] + 0.2 * box["height"])
            page.mouse.down()
            page.mouse.move(x, box["y"] + 0.8 * box["height"], steps=2)
            start = time.perf_counter()
            page.mouse.up()
            page.get_by_text("Saliency for").wait_for(timeout=30_000)
            if r >= WARMUP:
                draws.append(time.perf_counter() - start)
            page.get_by_role("button", name="Clear").click()
        page.get_by_text("Pick a test image", exact=True).click()
        page.get_by_text("Test image #0").wait_for(timeout=30_000)
        shown = "Test image #0"
        for r in range(rounds + WARMUP):
            start = time.perf_counter()
            page.get_by_role("button", name="Random").click()
            page.wait_for_function(
                "old => { const e = [...document.querySelectorAll('[data-testid=stImageCaption]')]"
                ".find(c => c.textContent.startsWith('Test image #')); "
                "return e && !e.textContent.startsWith(old) && document.body.innerText.includes('Saliency for'); }",
                arg=shown + ",", timeout=30_000)
            caption = page.locator("[data-testid='stImageCaption']").filter(has_text="Test image #")
            shown = caption.first.inner_text().split(",")[0]
            if r >= WARMUP:
                picks.append(time.perf_counter() - start)
    return draws, picks


def in_process(run_dir: Path, rounds: int) -> float:
    from resnet_core.analysis.attribution import explain
    from resnet_core.data.drawing import drawing_to_image
    from resnet_core.serving.predictor import Predictor

    model = Predictor(run_dir / "checkpoints" / "best.pt")
    times = []
    for r in range(rounds + WARMUP):
        start = time.perf_counter()
        image = drawing_to_image([[(0.4 + 0.01 * r, 0.2), (0.45, 0.8)]], model.info)
        model.predict_images(image[None], top_k=5)
        explain(model.model, model.info.normalize(image[None]), "saliency")
        if r >= WARMUP:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=10)
    args = p.parse_args()
    from resnet_core import TrainConfig, train

    with tempfile.TemporaryDirectory() as tmp:
        run = train(TrainConfig(dataset="digits", arch="resnet20", epochs=10, runs_dir=tmp),
                    progress=False)
        work = in_process(run.dir, args.rounds)
        draws, picks = browser_rounds(tmp, args.rounds)
    d, pk = statistics.median(draws), statistics.median(picks)
    print(f"pen up -> prediction (canvas):      median {d * 1000:.0f} ms "
          f"(min {min(draws) * 1000:.0f}, max {max(draws) * 1000:.0f}; {len(draws)} rounds)")
    print(f"Random -> prediction (button):      median {pk * 1000:.0f} ms "
          f"(min {min(picks) * 1000:.0f}, max {max(picks) * 1000:.0f})")
    print(f"canvas / button: {d / pk:.2f}x; the redraw's own work in process: {work * 1000:.0f} ms")


if __name__ == "__main__":
    main()
