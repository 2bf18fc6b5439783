"""Transfer learning on the Train page, in a real browser: a zipped folder, the suggested
pretrained resnet18, the learning-rate finder filling the field, and a frozen-head run."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from resnet_core.runs.store import RunStore
from resnet_core.training.transfer import IMAGENET_FILES

from e2e import ARTIFACTS, browser_page, choose, streamlit_server, wait_for_app

pytestmark = pytest.mark.e2e


def pets_zip() -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for c, name in enumerate(("cat", "dog", "fox")):
            for i in range(10):
                a = rng.integers(0, 90, (48, 48, 3)).astype(np.uint8)
                a[..., c] += 150
                img = io.BytesIO()
                Image.fromarray(a).save(img, "PNG")
                z.writestr(f"pets/{name}/{i}.png", img.getvalue())
    return buf.getvalue()


@pytest.mark.slow  # 25-55 s: CI runs it with the slow checks; the default run stays under 10 min
def test_start_from_imagenet_weights_find_a_learning_rate_and_train_the_head(tmp_path):
    import torchvision

    home = tmp_path / "torch_home"
    weights = home / "hub" / "checkpoints" / IMAGENET_FILES["resnet18"]
    weights.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18().state_dict(), weights)
    runs = tmp_path / "runs"
    env = {"RESNET_WORKBENCH_RUNS": str(runs), "RESNET_WORKBENCH_DATA": str(tmp_path / "data"),
           "TORCH_HOME": str(home)}
    with streamlit_server(env) as url, browser_page(height=2400) as page:
        wait_for_app(page, f"{url}/train", "Dataset")
        choose(page, "Dataset", "folder")
        upload = page.locator("[data-testid='stFileUploader'] input[type='file']").first
        upload.wait_for(state="attached", timeout=30_000)
        upload.set_input_files(files=[{"name": "pets.zip", "mimeType": "application/zip",
                                       "buffer": pets_zip()}])
        page.get_by_role("button", name="Use pretrained resnet18").click(timeout=60_000)
        page.get_by_text("resnet18-f37072fd.pth (46.8 MB) is in").wait_for(timeout=60_000)
        # The suggestion also turned augmentation off (features once) and set a batch this fills.
        page.wait_for_function("() => [...document.querySelectorAll('input')].some("
                               "i => i.getAttribute('aria-label') == 'Batch size' && i.value == '16')",
                               timeout=60_000)
        page.wait_for_timeout(1000)
        # Smaller images keep this test short; the suggestion set 224 px.
        size = page.get_by_label("Image size (px)")
        size.fill("64")
        size.press("Enter")
        # The data line at the new size, then the button: it is enabled at the end of the rerun,
        # after the page has timed a step at 64 px (CI saw it still disabled 30 s on, under load).
        page.get_by_text("3x64x64, 3 classes: cat, dog, fox").wait_for(timeout=60_000)
        page.get_by_role("button", name="Find a learning rate").click(timeout=120_000)
        page.get_by_text("Suggested learning rate").wait_for(timeout=180_000)
        suggested = page.get_by_text("Suggested learning rate").inner_text()
        value = suggested.split("Suggested learning rate")[1].split()[0]
        assert float(page.get_by_label("Learning rate").input_value()) == pytest.approx(
            float(value), rel=0.05, abs=1e-4)
        page.screenshot(path=str(ARTIFACTS / "train_transfer.png"))
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text("Test accuracy").first.wait_for(timeout=300_000)
    run = RunStore(runs).runs()[0]
    config = run.config
    assert config["pretrained"] == "imagenet" and config["freeze"] == "backbone"
    assert config["training_step"] == "cached-features"
    assert config["lr"] == pytest.approx(float(value), rel=0.05, abs=1e-4)
    assert config["init"]["new"][0].startswith("fc.weight (1000 classes in the file, 3 here)")
