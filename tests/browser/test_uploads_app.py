"""Uploads in a real browser: a zipped image folder on Train, a bad file on Predict."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from e2e import ARTIFACTS, browser_page, choose, streamlit_server, wait_for_app

pytestmark = pytest.mark.e2e


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), color).save(buf, "PNG")
    return buf.getvalue()


def test_train_page_unpacks_a_zipped_folder_and_refuses_an_escaping_one(tmp_path):
    data = tmp_path / "data"
    env = {"RESNET_WORKBENCH_RUNS": str(tmp_path / "runs"), "RESNET_WORKBENCH_DATA": str(data)}
    good = zip_bytes({f"pets/{c}/{i}.png": png((i * 20, 0, 0) if c == "cat" else (0, 0, i * 20))
                      for c in ("cat", "dog") for i in range(6)})
    evil = zip_bytes({"cat/1.png": png((1, 2, 3)), "dog/1.png": png((3, 2, 1)),
                      "../../escaped.png": png((0, 0, 0))})
    with streamlit_server(env) as url, browser_page(height=1400) as page:
        wait_for_app(page, f"{url}/train", "Dataset")
        choose(page, "Dataset", "folder")
        upload = page.locator("[data-testid='stFileUploader'] input[type='file']")
        upload.wait_for(state="attached", timeout=30_000)
        upload.set_input_files(files=[{"name": "evil.zip", "mimeType": "application/zip", "buffer": evil}])
        page.get_by_text("path that leaves its folder (../../escaped.png)").wait_for(timeout=30_000)
        assert not (tmp_path / "escaped.png").exists() and not (data / "escaped.png").exists()
        upload.set_input_files(files=[{"name": "pets.zip", "mimeType": "application/zip", "buffer": good}])
        page.get_by_text("classes: cat, dog").wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "train_zip_upload.png"))
    unpacked = list((data / "uploads").iterdir())
    assert len(unpacked) == 1 and unpacked[0].name.startswith("pets-")
    assert sorted(p.name for p in (unpacked[0] / "pets").iterdir()) == ["cat", "dog"]


def test_predict_page_refuses_a_file_that_is_not_an_image(short_run, tmp_path):
    env = {"RESNET_WORKBENCH_RUNS": str(short_run.dir.parent)}
    with streamlit_server(env) as url, browser_page() as page:
        wait_for_app(page, f"{url}/predict", "An image")
        upload = page.locator("[data-testid='stFileUploader'] input[type='file']")
        upload.set_input_files(files=[{"name": "notes.png", "mimeType": "image/png",
                                       "buffer": b"just some text"}])
        page.get_by_text("notes.png is not an image this tool can read").wait_for(timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
        # Issue 37, item 4: the one pixel limit, read from the header, as serve's (a 20-Mpx
        # PNG of a few kB once took 4 s and +660 MiB to decode here).
        big = io.BytesIO()
        Image.new("L", (5000, 4000)).save(big, format="PNG")
        upload.set_input_files(files=[{"name": "huge.png", "mimeType": "image/png", "buffer": big.getvalue()}])
        page.get_by_text("huge.png is 5,000 x 4,000 pixels; at most 16 million pixels per image").wait_for(
            timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
